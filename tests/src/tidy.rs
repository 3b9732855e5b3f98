//! Tidy checks on the sources themselves: the module graph of a crate, read from its files,
//! and the circles in it (modules that import each other, directly or around a loop).
//!
//! Why a test and not a rule in a document: rust-analyzer keeps its layering with tests that
//! read the sources, because a layering kept by memory erodes one convenient import at a time.
//! Here each driver's files should form a tree the OpenDAL way (operation modules depend on
//! `core`, never on `backend` or on each other), and plugin-api's modules a DAG.
//!
//! The graph is built with `syn` from the crate root (`lib.rs`, else `main.rs`) down through
//! every `mod` (files, `#[path]` files and inline modules, each inline module its own node).
//! An edge `a -> b` is any path in `a` that names `b` or an item defined in `b`: `use` trees,
//! paths in code and types, and `crate::`/`$crate::`/`super::` paths inside macro calls and
//! `macro_rules!` bodies. Re-exports are followed to the module that defines the item, so a
//! `crate::Entry` that the root re-exports from `types` is an edge to `types`, not to the root.
//! Doc comments and strings are not code and make no edge. Paths whose first segment is a
//! local name (an imported type, a variable) are not resolved: the `use` that brought the name
//! in already made the edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;

/// Why a crate's module graph could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TidyError {
    /// A source file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A source file is not Rust that `syn` parses.
    #[error("cannot parse {file}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// Where the parser stopped.
        line: usize,
        /// Where the parser stopped.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A `mod name;` whose file is in none of the places Rust looks.
    #[error("{file}:{line}: `mod {name};` has no file: looked for {}", looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and "))]
    MissingModule {
        /// The file declaring the module.
        file: PathBuf,
        /// The line of the declaration.
        line: usize,
        /// The module's name.
        name: String,
        /// The paths tried.
        looked: Vec<PathBuf>,
    },
    /// The folder holds neither `lib.rs` nor `main.rs`.
    #[error("{0} holds neither lib.rs nor main.rs: expected the src folder of a crate")]
    NoRoot(PathBuf),
}

/// A module's path inside its crate: empty for the crate root.
type ModPath = Vec<String>;

/// The name a cycle report uses for a module: `crate` for the root, else `a::b`.
fn name_of(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_owned()
    } else {
        path.join("::")
    }
}

/// Where an edge was seen: the first path that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The file, relative to the crate's src folder.
    pub file: PathBuf,
    /// The line of the path.
    pub line: usize,
    /// The path as written (`crate::writer::is_temp_name`).
    pub path: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} `{}`", self.file.display(), self.line, self.path)
    }
}

/// A crate's modules and which of them name which.
#[derive(Debug)]
pub struct ModuleGraph {
    /// Every module, by [`name_of`].
    pub modules: BTreeSet<String>,
    /// `from -> to -> where`, self-references left out.
    pub edges: BTreeMap<String, BTreeMap<String, Site>>,
}

/// The circles among the modules of the crate whose src folder is `src_dir`: one cycle per
/// group of modules that reach each other, each as the modules in import order starting at
/// the smallest name (`["a", "b"]`: `a` imports `b` and `b` imports `a`). Empty for a DAG.
///
/// # Panics
/// When the sources cannot be read or parsed, naming the file (see [`TidyError`]).
pub fn module_cycles(src_dir: impl AsRef<Path>) -> Vec<Vec<String>> {
    match ModuleGraph::read(src_dir.as_ref()) {
        Ok(graph) => graph.cycles(),
        Err(e) => panic!("{e}"),
    }
}

impl ModuleGraph {
    /// Reads the crate whose src folder is `src_dir`.
    pub fn read(src_dir: &Path) -> Result<ModuleGraph, TidyError> {
        let root = ["lib.rs", "main.rs"]
            .iter()
            .map(|f| src_dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| TidyError::NoRoot(src_dir.to_owned()))?;
        let mut loader = Loader {
            src_dir: src_dir.to_owned(),
            modules: BTreeMap::new(),
            exported_macros: BTreeMap::new(),
        };
        loader.load_file(&root, Vec::new(), src_dir.to_owned())?;
        Ok(loader.graph())
    }

    /// See [`module_cycles`].
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut cycles: Vec<Vec<String>> = strongly_connected(&self.modules, &self.edges)
            .into_iter()
            .filter(|group| group.len() > 1)
            .map(|group| self.shortest_cycle(&group))
            .collect();
        cycles.sort();
        cycles
    }

    /// The cycle with the place each of its imports is made, one line per edge.
    pub fn describe(&self, cycle: &[String]) -> String {
        let mut out = format!("{} -> {}", cycle.join(" -> "), cycle[0]);
        for (i, from) in cycle.iter().enumerate() {
            let to = &cycle[(i + 1) % cycle.len()];
            if let Some(site) = self.edges.get(from).and_then(|e| e.get(to)) {
                out.push_str(&format!("\n    {from} -> {to}: {site}"));
            }
        }
        out
    }

    /// The shortest cycle through the smallest module of `group` (a strongly connected
    /// group, so there is one), by breadth-first search inside the group.
    fn shortest_cycle(&self, group: &BTreeSet<String>) -> Vec<String> {
        let start = group.iter().next().expect("a group has a member");
        let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(at) = queue.pop_front() {
            for next in self.edges.get(at).into_iter().flat_map(|e| e.keys()) {
                if !group.contains(next) {
                    continue;
                }
                if next == start {
                    let mut cycle = vec![at.clone()];
                    let mut back = at;
                    while back != start {
                        back = came_from[back];
                        cycle.push(back.clone());
                    }
                    cycle.reverse();
                    return cycle;
                }
                if !came_from.contains_key(next) {
                    came_from.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
        unreachable!("a strongly connected group of several modules has a cycle")
    }
}

/// Tarjan's algorithm: the strongly connected groups of the graph.
fn strongly_connected(
    nodes: &BTreeSet<String>,
    edges: &BTreeMap<String, BTreeMap<String, Site>>,
) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, Site>>,
        index: BTreeMap<&'a String, usize>,
        low: BTreeMap<&'a String, usize>,
        stack: Vec<&'a String>,
        on_stack: BTreeSet<&'a String>,
        groups: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a String) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = BTreeSet::new();
            loop {
                let w = s.stack.pop().expect("v is on the stack");
                s.on_stack.remove(w);
                group.insert(w.clone());
                if w == v {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.groups
}

/// A path seen in a module, to be resolved once every module is known.
#[derive(Debug)]
struct Ref {
    segments: Vec<String>,
    file: PathBuf,
    line: usize,
}

/// What one module declares and mentions.
#[derive(Debug, Default)]
struct Module {
    /// Child modules, inline or in files.
    children: BTreeSet<String>,
    /// Names of the items defined here (types, functions, constants, macros, ...).
    items: BTreeSet<String>,
    /// Names brought in by a top-level `use`: name -> the path as written.
    uses: BTreeMap<String, Vec<String>>,
    /// Paths of top-level glob imports (`use types::*`).
    globs: Vec<Vec<String>>,
    /// Every path mentioned.
    refs: Vec<Ref>,
}

/// Where a path leads: a module itself, or an item defined in a module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    module: ModPath,
    is_module: bool,
}

/// How deep re-exports are followed before giving up (a `use` loop is a compile error anyway).
const MAX_DEPTH: usize = 32;

struct Loader {
    src_dir: PathBuf,
    modules: BTreeMap<ModPath, Module>,
    /// `#[macro_export]` macros live at the crate root but are defined in their module.
    exported_macros: BTreeMap<String, ModPath>,
}

impl Loader {
    /// Loads the module `path` from `file`; its `mod x;` children are looked up in `dir`.
    fn load_file(&mut self, file: &Path, path: ModPath, dir: PathBuf) -> Result<(), TidyError> {
        let text = std::fs::read_to_string(file).map_err(|source| TidyError::Read {
            file: file.to_owned(),
            source,
        })?;
        let parsed = syn::parse_file(&text).map_err(|e| {
            let at = e.span().start();
            TidyError::Parse {
                file: file.to_owned(),
                line: at.line,
                column: at.column + 1,
                message: e.to_string(),
            }
        })?;
        self.load_items(file, &parsed.items, path, dir)
    }

    fn load_items(
        &mut self,
        file: &Path,
        items: &[syn::Item],
        path: ModPath,
        dir: PathBuf,
    ) -> Result<(), TidyError> {
        let shown_file = file.strip_prefix(&self.src_dir).unwrap_or(file).to_owned();
        let mut module = Module::default();
        let mut inline = Vec::new();
        let mut files = Vec::new();
        for item in items {
            match item {
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    module.children.insert(name.clone());
                    match &m.content {
                        Some((_, inner)) => inline.push((name, inner)),
                        None => files.push((name, m)),
                    }
                    // Paths in the module's attributes (`#[cfg_attr(..)]`) belong here.
                    let mut refs = RefCollector::new(&shown_file, &mut module.refs);
                    for attr in &m.attrs {
                        refs.visit_attribute(attr);
                    }
                    continue;
                }
                syn::Item::Use(u) => use_bindings(&u.tree, &mut Vec::new(), &mut module),
                syn::Item::Macro(m) => {
                    if let Some(ident) = &m.ident {
                        module.items.insert(ident.to_string());
                        let exported = m.attrs.iter().any(|a| a.path().is_ident("macro_export"));
                        if exported {
                            self.exported_macros.insert(ident.to_string(), path.clone());
                        }
                    }
                }
                other => {
                    if let Some(name) = item_name(other) {
                        module.items.insert(name);
                    }
                }
            }
            RefCollector::new(&shown_file, &mut module.refs).visit_item(item);
        }
        self.modules.insert(path.clone(), module);
        for (name, inner) in inline {
            let mut child = path.clone();
            child.push(name.clone());
            self.load_items(file, inner, child, dir.join(&name))?;
        }
        for (name, decl) in files {
            let mut child = path.clone();
            child.push(name.clone());
            let looked = match path_attr(&decl.attrs) {
                Some(explicit) => vec![file.parent().unwrap_or(Path::new(".")).join(explicit)],
                None => vec![
                    dir.join(format!("{name}.rs")),
                    dir.join(&name).join("mod.rs"),
                ],
            };
            let Some(found) = looked.iter().find(|p| p.is_file()).cloned() else {
                return Err(TidyError::MissingModule {
                    file: file.to_owned(),
                    line: decl.ident.span().start().line,
                    name,
                    looked,
                });
            };
            // `a/mod.rs` and `#[path]` files hold their children beside them, `a.rs` in `a/`.
            let mod_rs = found.file_name().is_some_and(|n| n == "mod.rs");
            let child_dir = if mod_rs || looked.len() == 1 {
                found.parent().unwrap_or(Path::new(".")).to_owned()
            } else {
                dir.join(&name)
            };
            self.load_file(&found, child, child_dir)?;
        }
        Ok(())
    }

    fn graph(&self) -> ModuleGraph {
        let mut edges: BTreeMap<String, BTreeMap<String, Site>> = BTreeMap::new();
        for (from, module) in &self.modules {
            for r in &module.refs {
                let Some(target) = self.resolve(from, &r.segments, 0) else {
                    continue;
                };
                if &target.module == from {
                    continue;
                }
                let site = Site {
                    file: r.file.clone(),
                    line: r.line,
                    path: r.segments.join("::"),
                };
                edges
                    .entry(name_of(from))
                    .or_default()
                    .entry(name_of(&target.module))
                    .or_insert(site);
            }
        }
        ModuleGraph {
            modules: self.modules.keys().map(|p| name_of(p)).collect(),
            edges,
        }
    }

    /// Where `segments`, written in module `from`, leads; `None` for a path outside the crate
    /// or starting at a local name.
    fn resolve(&self, from: &ModPath, segments: &[String], depth: usize) -> Option<Target> {
        let first = segments.first()?;
        let (start, rest) = match first.as_str() {
            "crate" | "$crate" => (Vec::new(), &segments[1..]),
            "self" => (from.clone(), &segments[1..]),
            "super" => {
                let mut at = from.clone();
                let mut n = 0;
                while segments.get(n).map(String::as_str) == Some("super") {
                    at.pop()?;
                    n += 1;
                }
                (at, &segments[n..])
            }
            name if self.modules.get(from)?.children.contains(name) => (from.clone(), segments),
            _ => return None,
        };
        self.walk(start, rest, depth)
    }

    /// Follows `rest` down from the module `at`.
    fn walk(&self, mut at: ModPath, rest: &[String], depth: usize) -> Option<Target> {
        if depth > MAX_DEPTH {
            return None;
        }
        for (i, segment) in rest.iter().enumerate() {
            let module = self.modules.get(&at)?;
            match segment.as_str() {
                "self" => continue,
                "super" => {
                    at.pop()?;
                    continue;
                }
                _ => {}
            }
            if module.children.contains(segment) {
                at.push(segment.clone());
                continue;
            }
            if module.items.contains(segment) {
                return Some(Target {
                    module: at,
                    is_module: false,
                });
            }
            if let Some(written) = module.uses.get(segment) {
                // A re-export: where its own path leads, then on from there.
                let target = self.resolve(&at, written, depth + 1);
                return match target {
                    Some(t) if t.is_module => self.walk(t.module, &rest[i + 1..], depth + 1),
                    Some(t) => Some(t),
                    // Re-exported from outside the crate: the module is what is named.
                    None => Some(Target {
                        module: at,
                        is_module: false,
                    }),
                };
            }
            if at.is_empty() {
                if let Some(defined) = self.exported_macros.get(segment) {
                    return Some(Target {
                        module: defined.clone(),
                        is_module: false,
                    });
                }
            }
            for glob in &module.globs {
                let Some(t) = self.resolve(&at, glob, depth + 1).filter(|t| t.is_module) else {
                    continue;
                };
                let there = &self.modules[&t.module];
                let defines = there.items.contains(segment)
                    || there.children.contains(segment)
                    || there.uses.contains_key(segment);
                if defines {
                    return self.walk(t.module, &rest[i..], depth + 1);
                }
            }
            // Not found here (a name from a macro, an enum variant of a glob): this module.
            return Some(Target {
                module: at,
                is_module: false,
            });
        }
        Some(Target {
            module: at,
            is_module: true,
        })
    }
}

/// The name an item defines, if it defines one that paths can name.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The `#[path = "..."]` of a module declaration.
fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Records the names a top-level `use` tree binds in `module`.
fn use_bindings(tree: &syn::UseTree, prefix: &mut Vec<String>, module: &mut Module) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_bindings(&p.tree, prefix, module);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    module.uses.insert(last.clone(), prefix.clone());
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                module.uses.insert(name, path);
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            module.uses.insert(r.rename.to_string(), path);
        }
        syn::UseTree::Glob(_) => module.globs.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_bindings(t, prefix, module);
            }
        }
    }
}

/// Collects every path of one item (not descending into inline modules, which are nodes of
/// their own): paths in code and types, `use` trees, and paths inside macro tokens.
struct RefCollector<'a> {
    file: &'a Path,
    refs: &'a mut Vec<Ref>,
}

impl<'a> RefCollector<'a> {
    fn new(file: &'a Path, refs: &'a mut Vec<Ref>) -> Self {
        RefCollector { file, refs }
    }

    fn push(&mut self, segments: Vec<String>, line: usize) {
        self.refs.push(Ref {
            segments,
            file: self.file.to_owned(),
            line,
        });
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.push(path, n.ident.span().start().line);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.push(path, r.ident.span().start().line);
            }
            syn::UseTree::Glob(g) => {
                self.push(prefix.clone(), g.star_token.spans[0].start().line);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix);
                }
            }
        }
    }

    /// Paths inside a macro's tokens: `a::b` runs, with `$crate` as one segment.
    fn tokens(&mut self, stream: TokenStream) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            if let TokenTree::Group(g) = &tokens[i] {
                self.tokens(g.stream());
                i += 1;
                continue;
            }
            let (first, line, mut next) = match (&tokens[i], tokens.get(i + 1)) {
                (TokenTree::Punct(p), Some(TokenTree::Ident(id)))
                    if p.as_char() == '$' && id == "crate" =>
                {
                    ("$crate".to_owned(), id.span().start().line, i + 2)
                }
                (TokenTree::Ident(id), _) => (id.to_string(), id.span().start().line, i + 1),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let mut segments = vec![first];
            while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(seg)) =
                (tokens.get(next), tokens.get(next + 1), tokens.get(next + 2))
            {
                let colons =
                    a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':';
                match seg {
                    TokenTree::Ident(id) if colons => {
                        segments.push(id.to_string());
                        next += 3;
                    }
                    _ => break,
                }
            }
            if segments.len() > 1 {
                self.push(segments, line);
            }
            i = next;
        }
    }
}

impl<'ast> Visit<'ast> for RefCollector<'_> {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A module inside a function body: rare enough to leave out.
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if u.leading_colon.is_none() {
            self.use_tree(&u.tree, &mut Vec::new());
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            let line = path.segments[0].ident.span().start().line;
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.push(segments, line);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate in a temporary folder: `(relative path, text)` files under `src/`.
    fn planted(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        dir
    }

    fn cycles(files: &[(&str, &str)]) -> Vec<Vec<String>> {
        module_cycles(planted(files).path())
    }

    fn strings(cycles: &[&[&str]]) -> Vec<Vec<String>> {
        cycles
            .iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn two_modules_that_import_each_other_are_a_cycle() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A(B);\n"),
            ("b.rs", "pub struct B;\nfn f(_: crate::a::A) {}\n"),
        ]);
        assert_eq!(found, strings(&[&["a", "b"]]));
    }

    #[test]
    fn a_longer_cycle_is_named_in_import_order() {
        let dir = planted(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            ("a.rs", "use crate::b::f;\n"),
            ("b.rs", "pub fn f() { crate::c::g() }\n"),
            ("c.rs", "pub fn g() { super::a::h(); crate::d::D; }\n"),
            ("d.rs", "pub struct D;\n"),
        ]);
        // a.rs names `h`, which it does not define: still an edge to `a`.
        let graph = ModuleGraph::read(dir.path()).unwrap();
        assert_eq!(graph.cycles(), strings(&[&["a", "b", "c"]]));
        let described = graph.describe(&graph.cycles()[0]);
        assert!(described.starts_with("a -> b -> c -> a"), "{described}");
        assert!(
            described.contains("c -> a: c.rs:1 `super::a::h`"),
            "{described}"
        );
    }

    #[test]
    fn a_dag_has_no_cycle_whatever_the_kinds_of_paths() {
        let found = cycles(&[
            (
                "lib.rs",
                "//! Docs naming [`crate::b::B`] make no edge.\n\
                 mod a;\nmod b;\npub mod types;\n\
                 pub use b::B;\npub use types::*;\n",
            ),
            // `crate::B` and `crate::Entry` are re-exports: edges to b and types, not the root.
            (
                "a.rs",
                "use crate::{B, Entry};\nfn f() -> crate::types::Entry { todo!() }\n",
            ),
            (
                "b.rs",
                "/// Not [`crate::a`].\npub struct B;\nconst S: &str = \"crate::a::x\";\n\
                 #[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::a;\n}\n",
            ),
            ("types.rs", "pub struct Entry;\n"),
        ]);
        assert_eq!(found, Vec::<Vec<String>>::new());
    }

    #[test]
    fn a_root_that_defines_what_a_module_uses_is_in_the_cycle() {
        let found = cycles(&[
            ("lib.rs", "mod a;\npub struct Shared;\nfn f() { a::g() }\n"),
            ("a.rs", "pub fn g() { let _ = crate::Shared; }\n"),
        ]);
        assert_eq!(found, strings(&[&["a", "crate"]]));
    }

    #[test]
    fn macro_paths_count() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "#[macro_export]\nmacro_rules! m { () => { $crate::b::B } }\npub struct A;\n",
            ),
            (
                "b.rs",
                "pub struct B;\nfn f() { println!(\"{}\", crate::a::A); }\n",
            ),
        ]);
        assert_eq!(found, strings(&[&["a", "b"]]));
    }

    #[test]
    fn nested_and_path_modules_are_found() {
        let found = cycles(&[
            ("lib.rs", "mod outer;\nmod x;\n"),
            ("outer.rs", "mod inner;\n"),
            ("outer/inner/mod.rs", "use crate::x::X;\npub struct I;\n"),
            (
                "x.rs",
                "pub struct X;\n#[path = \"x_more.rs\"]\nmod more;\n",
            ),
            ("x_more.rs", "use crate::outer::inner::I;\nuse super::X;\n"),
        ]);
        // x -> (nothing) ; x::more -> outer::inner -> x : no cycle, x::more is a leaf.
        assert_eq!(found, Vec::<Vec<String>>::new());
        let found = cycles(&[
            ("lib.rs", "mod outer;\nmod x;\n"),
            ("outer.rs", "mod inner;\n"),
            ("outer/inner.rs", "use crate::x::X;\npub struct I;\n"),
            (
                "x.rs",
                "pub struct X;\nfn f(_: crate::outer::inner::I) {}\n",
            ),
        ]);
        assert_eq!(found, strings(&[&["outer::inner", "x"]]));
    }

    #[test]
    fn a_child_that_uses_its_parent_which_uses_it_is_a_cycle() {
        let found = cycles(&[
            ("lib.rs", "mod p;\n"),
            ("p/mod.rs", "mod c;\npub struct P;\nfn f() { c::g() }\n"),
            ("p/c.rs", "pub fn g() { let _ = super::P; }\n"),
        ]);
        assert_eq!(found, strings(&[&["p", "p::c"]]));
    }

    #[test]
    fn bad_crates_fail_naming_the_file() {
        let dir = planted(&[("lib.rs", "mod gone;\n")]);
        let err = ModuleGraph::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("lib.rs:1: `mod gone;` has no file"), "{err}");
        assert!(
            err.contains("gone.rs") && err.contains("gone/mod.rs"),
            "{err}"
        );

        let dir = planted(&[("lib.rs", "mod a;\n"), ("a.rs", "fn f( {\n")]);
        let err = ModuleGraph::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.rs:1:"), "{err}");

        let dir = planted(&[("README.md", "")]);
        let err = ModuleGraph::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("neither lib.rs nor main.rs"), "{err}");
    }
}
