//! Where a TOML error is: byte offsets to `line:column`, and spans to field paths such as
//! `params[2].type`.
//!
//! toml reports a byte span but not the key path of a shape error, so the text is parsed a
//! second time into [`Node`], a tree of spans of every key and value, and the path is the chain
//! of keys and indexes whose spans hold the error. When the text is not valid TOML at all
//! there is no tree; the path is then guessed from the error's line (its `key =` and the
//! nearest `[table]` or `[[array]]` header above it).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::error::{Location, ManifestError};

/// The 1-based line and character column of byte `offset` in `text` (clamped to the text).
pub(crate) fn location(text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// A toml error as a [`ManifestError::Toml`] naming the file, position and field.
pub(crate) fn toml_error(text: &str, path: &Path, err: &toml::de::Error) -> ManifestError {
    let message = err.message().trim().to_owned();
    let span = err.span();
    let field = span.as_ref().and_then(|span| {
        let container = match toml::from_str::<Spanned<Node>>(text) {
            Ok(tree) => Some(field_at(&tree, span, String::new())),
            Err(_) => guess_field(text, span.start),
        };
        match missing_field(&message) {
            Some(missing) => Some(join(&container.unwrap_or_default(), missing)),
            None => container.filter(|p| !p.is_empty()),
        }
    });
    ManifestError::Toml {
        path: path.to_path_buf(),
        location: span.map(|s| location(text, s.start)),
        field,
        message,
    }
}

/// The name in toml's "missing field `NAME`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Any TOML value, reduced to the spans of its keys and values.
enum Node {
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

/// The path of the deepest key or value holding `span.start`; a table whose span is exactly
/// `span` is itself the answer (toml points a "missing field" at the table lacking it).
fn field_at(node: &Spanned<Node>, span: &Range<usize>, path: String) -> String {
    if node.span() == *span && matches!(node.get_ref(), Node::Table(_)) {
        return path;
    }
    match node.get_ref() {
        Node::Table(entries) => {
            for (key, value) in entries {
                let here = join(&path, key.get_ref());
                if key.span().contains(&span.start) {
                    return here;
                }
                if value.span() == *span || value.span().contains(&span.start) {
                    return field_at(value, span, here);
                }
            }
        }
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.span() == *span || item.span().contains(&span.start) {
                    return field_at(item, span, format!("{path}[{i}]"));
                }
            }
        }
        Node::Leaf => {}
    }
    path
}

/// Best-effort field path for a syntax error at `offset`: the `[table]` or `[[array]]` in
/// force on that line, and the line's `key =` if it has one.
fn guess_field(text: &str, offset: usize) -> Option<String> {
    let error_line = location(text, offset).line;
    let mut table = String::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in text.lines().take(error_line - 1) {
        let line = line.trim();
        if let Some(name) = header(line, "[[", "]]") {
            let n = counts.entry(name.to_owned()).or_default();
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = header(line, "[", "]") {
            table = name.to_owned();
        }
    }
    let line = text.lines().nth(error_line - 1).unwrap_or("").trim();
    let key = line.split_once('=').map(|(k, _)| k.trim()).filter(|k| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    });
    match key {
        Some(key) => Some(join(&table, key)),
        None => Some(table).filter(|t| !t.is_empty()),
    }
}

fn header<'a>(line: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let name = line.strip_prefix(open)?.split_once(close)?.0.trim();
    let plain = !name.is_empty() && !name.contains(['[', ']']);
    plain.then_some(name)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_line_and_character_column() {
        let text = "a = 1\nbé = \"x\"\n";
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            (9, (2, 3)),
            (99, (3, 1)),
        ];
        for (offset, (line, column)) in cases {
            assert_eq!(
                location(text, offset),
                Location { line, column },
                "offset {offset}"
            );
        }
    }

    #[test]
    fn syntax_errors_guess_the_field_from_the_line() {
        let text = "id = 1\n[[params]]\nname = 2\n[[params]]\nname = \"x\n[meta]\nk = [\n";
        let line_start = |n: usize| text.split_inclusive('\n').take(n - 1).map(str::len).sum();
        let cases = [
            (1, Some("id")),
            (3, Some("params[0].name")),
            (5, Some("params[1].name")),
            (4, Some("params[0]")),
            (7, Some("meta.k")),
        ];
        for (line, expected) in cases {
            assert_eq!(
                guess_field(text, line_start(line)).as_deref(),
                expected,
                "line {line}"
            );
        }
    }
}
