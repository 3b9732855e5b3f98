//! `wshost plugins new ID`: writes a ready-to-build plugin crate outside any workspace — its
//! `Cargo.toml`, a working in-memory read-write driver, its manifest, a README and a test
//! that runs the conformance suite.
//!
//! The sources are those of `tests/plugins/access-example`, a member of this repository's
//! workspace whose own tests run the same conformance test, so what `plugins new` writes is
//! compiled and tested with every change to wshost. Only names are substituted: the id
//! `access.example`, the library stem `access_example`, the crate name `access-example` and
//! the type prefix `Example`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::plugins::library::host_api_version;
use anyhow::{bail, Context};

use crate::manifest;

const TEMPLATE_LIB: &str = include_str!("../../../tests/plugins/access-example/src/lib.rs");
const TEMPLATE_TEST: &str =
    include_str!("../../../tests/plugins/access-example/tests/conformance.rs");
const TEMPLATE_MANIFEST: &str =
    include_str!("../../../tests/plugins/access-example/access.example.toml");
const TEMPLATE_README: &str = include_str!("../../../tests/plugins/access-example/README.md");

/// Flags of `wshost plugins new`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  wshost plugins new access.my_store --dir ../access-my-store
  cd ../access-my-store && cargo test && cargo build
  wshost plugins test target/debug/libaccess_my_store.so --manifest access.my_store.toml")]
pub(crate) struct NewArgs {
    /// The plugin id, `type.name` in lowercase letters, digits and underscores
    /// (`access.my_store`).
    id: String,
    /// The folder to create [default: ./CRATE, e.g. ./access-my-store].
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Depend on the plugin-api crate in this folder (the `plugin-api/` of a wshost checkout)
    /// instead of the registry.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["api_version", "api_git"])]
    api_path: Option<PathBuf>,
    /// Depend on this version of `wshost-plugin-api` from the registry [default: this host's
    /// plugin-api version].
    #[arg(long, value_name = "VER", conflicts_with = "api_git")]
    api_version: Option<String>,
    /// Depend on plugin-api from this git repository (with --api-tag) instead of the registry.
    #[arg(long, value_name = "URL", requires = "api_tag")]
    api_git: Option<String>,
    /// The tag of --api-git to build against (`v1.0.2`).
    #[arg(long, value_name = "TAG", requires = "api_git")]
    api_tag: Option<String>,
}

/// The names one plugin id gives rise to.
#[derive(Debug, PartialEq, Eq)]
struct Names {
    /// `access.my_store`.
    id: String,
    /// `access`.
    kind: String,
    /// `access-my-store`: crate names use dashes.
    krate: String,
    /// `access_my_store`: the library is `libaccess_my_store.so`.
    stem: String,
    /// `MyStore`: the prefix of the Rust type names.
    camel: String,
    /// `My store`: the label shown to admins.
    label: String,
}

impl Names {
    fn of(id: &str) -> anyhow::Result<Names> {
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b == b'_' || b.is_ascii_digit() || b.is_ascii_lowercase())
        };
        let (kind, name) = match id.split_once('.') {
            Some((kind, name)) if word(kind) && word(name) && name.bytes().any(|b| b != b'_') => {
                (kind, name)
            }
            _ => bail!(
                "'{id}' is not a plugin id: expected `type.name` of lowercase letters, digits \
                 and underscores, e.g. `access.my_store`"
            ),
        };
        let mut camel: String = (name.split('_'))
            .filter(|p| !p.is_empty())
            .map(|p| p[..1].to_ascii_uppercase() + &p[1..])
            .collect();
        if camel.starts_with(|c: char| c.is_ascii_digit()) {
            camel.insert(0, 'P'); // a Rust type name cannot start with a digit
        }
        let label = name.replace('_', " ");
        Ok(Names {
            id: id.to_owned(),
            kind: kind.to_owned(),
            krate: id.replace(['.', '_'], "-"),
            stem: id.replace('.', "_"),
            camel,
            label: label[..1].to_ascii_uppercase() + &label[1..],
        })
    }

    /// The template text with this plugin's names.
    fn apply(&self, template: &str) -> String {
        template
            .replace(
                "label = \"Example storage\"",
                &format!("label = {}", quoted(&self.label)),
            )
            .replace(
                "type = \"access\"",
                &format!("type = {}", quoted(&self.kind)),
            )
            .replace("access.example", &self.id)
            .replace("access_example", &self.stem)
            .replace("access-example", &self.krate)
            .replace("Example", &self.camel)
    }
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Where the generated crate finds plugin-api.
#[derive(Debug, PartialEq, Eq)]
enum Api {
    Path(PathBuf),
    Version(String),
    Git { url: String, tag: String },
}

impl Api {
    fn choose(args: &NewArgs) -> anyhow::Result<Api> {
        if let Some(path) = &args.api_path {
            let path = std::path::absolute(path)
                .with_context(|| format!("--api-path {}", path.display()))?;
            if !is_plugin_api(&path) {
                bail!(
                    "--api-path {}: no wshost-plugin-api crate there (expected the plugin-api \
                     folder of a wshost checkout, holding its Cargo.toml)",
                    path.display()
                );
            }
            return Ok(Api::Path(path));
        }
        if let (Some(url), Some(tag)) = (&args.api_git, &args.api_tag) {
            return Ok(Api::Git {
                url: url.clone(),
                tag: tag.clone(),
            });
        }
        // The registry by default: a path would tie the crate to the machine the binary was
        // built on, and its author's checkout may not even exist.
        let version = args.api_version.as_deref().unwrap_or(host_api_version());
        Ok(Api::Version(version.to_owned()))
    }

    /// The dependency's source, as the inside of a TOML inline table.
    fn source(&self) -> String {
        match self {
            Api::Path(path) => format!("path = {}", quoted(&path.to_string_lossy())),
            Api::Version(version) => format!("version = {}", quoted(version)),
            Api::Git { url, tag } => format!("git = {}, tag = {}", quoted(url), quoted(tag)),
        }
    }
}

fn is_plugin_api(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|text| text.contains("name = \"wshost-plugin-api\""))
}

fn cargo_toml(names: &Names, api: &Api) -> String {
    let source = api.source();
    format!(
        r#"[package]
name = "{krate}"
version = "0.1.0"
description = "wshost storage-driver plugin {id}."
edition = "2021"
publish = false

# An empty workspace of its own, so that a Cargo workspace in a parent folder does not claim
# this crate.
[workspace]

[lib]
name = "{stem}"
# cdylib: the lib{stem}.so the host loads; rlib: lets tests/ name the plugin type.
crate-type = ["cdylib", "rlib"]

[dependencies]
plugin-api = {{ package = "wshost-plugin-api", {source} }}

[dev-dependencies]
plugin-api = {{ package = "wshost-plugin-api", {source}, features = ["testing"] }}

# The host catches a plugin's panics, which needs unwinding: never set panic = "abort".
[profile.release]
panic = "unwind"
"#,
        krate = names.krate,
        id = names.id,
        stem = names.stem,
    )
}

/// Every file of the new crate, by path relative to its folder.
fn files(names: &Names, api: &Api) -> Vec<(PathBuf, String)> {
    vec![
        ("Cargo.toml".into(), cargo_toml(names, api)),
        ("src/lib.rs".into(), names.apply(TEMPLATE_LIB)),
        ("tests/conformance.rs".into(), names.apply(TEMPLATE_TEST)),
        (
            format!("{}.toml", names.id).into(),
            names.apply(TEMPLATE_MANIFEST),
        ),
        ("README.md".into(), names.apply(TEMPLATE_README)),
        (".gitignore".into(), "/target\n".into()),
    ]
}

/// Writes the crate.
pub(crate) fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let names = Names::of(&args.id)?;
    let api = Api::choose(args)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&names.krate));
    let files = files(&names, &api);
    // The manifest must pass the host's own checks, or the host would refuse the plugin.
    let (manifest_name, manifest_text) = &files[3];
    manifest::parse(manifest_text, manifest_name)
        .map_err(|e| anyhow::anyhow!("the generated manifest is refused: {e}"))?;

    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        bail!(
            "{} already exists and is not empty; choose another folder with --dir",
            dir.display()
        );
    }
    for (rel, text) in &files {
        let path = dir.join(rel);
        let folder = path.parent().expect("a file has a parent");
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the folder {}", folder.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let from = match &api {
        Api::Path(path) => format!("plugin-api from {}", path.display()),
        Api::Version(version) => format!(
            "wshost-plugin-api {version} from the registry; if your registry does not have \
             it, write the crate again with --api-git URL --api-tag TAG or --api-path PATH"
        ),
        Api::Git { url, tag } => format!("plugin-api from {url} at tag {tag}"),
    };
    println!(
        "created {} in {} (plugin {}, {from})\n\nnext:\n  cd {}\n  cargo test     \
         # the conformance suite, in-process\n  cargo build    # target/debug/lib{}.so\n  \
         wshost plugins test target/debug/lib{}.so --manifest {}.toml",
        names.krate,
        dir.display(),
        names.id,
        dir.display(),
        names.stem,
        names.stem,
        names.id
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_gives_every_name() {
        let cases = [
            (
                "access.my_store",
                "access-my-store",
                "access_my_store",
                "MyStore",
                "My store",
            ),
            ("access.s3", "access-s3", "access_s3", "S3", "S3"),
            ("meta.x_2", "meta-x-2", "meta_x_2", "X2", "X 2"),
            (
                "access.9lives",
                "access-9lives",
                "access_9lives",
                "P9lives",
                "9lives",
            ),
        ];
        for (id, krate, stem, camel, label) in cases {
            let names = Names::of(id).unwrap();
            let got = (
                names.krate.as_str(),
                names.stem.as_str(),
                names.camel.as_str(),
            );
            assert_eq!(got, (krate, stem, camel), "{id}");
            assert_eq!(names.label, label, "{id}");
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for id in [
            "access",
            "Access.fs",
            "access.",
            ".fs",
            "access.my-store",
            "a.b.c",
            "access._",
        ] {
            let err = Names::of(id).unwrap_err().to_string();
            assert!(err.contains("not a plugin id"), "{id}: {err}");
        }
    }

    #[test]
    fn the_crate_carries_the_new_names_only() {
        let names = Names::of("access.my_store").unwrap();
        let api = Api::Version("1.0.0".into());
        for (path, text) in files(&names, &api) {
            assert!(
                !text.contains("xample"),
                "{}: template name left:\n{text}",
                path.display()
            );
        }
        let lib = names.apply(TEMPLATE_LIB);
        assert!(lib.contains("const ID: &'static str = \"access.my_store\";"));
        assert!(lib.contains("pub struct MyStoreDriver"));
        let manifest_text = names.apply(TEMPLATE_MANIFEST);
        let parsed = manifest::parse(&manifest_text, Path::new("access.my_store.toml")).unwrap();
        assert_eq!(
            (
                parsed.id.as_str(),
                parsed.library.as_str(),
                parsed.label.as_str()
            ),
            ("access.my_store", "access_my_store", "My store")
        );
    }

    #[test]
    fn the_guide_s_sample_manifest_is_accepted() {
        let guide = include_str!("../../../docs/plugin-guide.md");
        let start = guide
            .find("```toml\nid = ")
            .expect("the guide shows a manifest")
            + 8;
        let text = &guide[start..][..guide[start..].find("```").unwrap()];
        let parsed = manifest::parse(text, Path::new("plugin-guide.md")).unwrap();
        assert_eq!(parsed.id, "access.my_store");
        assert_eq!((parsed.params.len(), parsed.actions.len()), (4, 2));
        let methods = |i: usize| -> Vec<&str> {
            parsed.actions[i]
                .methods
                .iter()
                .map(|m| m.as_str())
                .collect()
        };
        assert_eq!((methods(0), methods(1)), (vec!["GET"], vec!["POST"]));
    }

    #[test]
    fn the_template_s_guide_sections_exist() {
        let guide = include_str!("../../../docs/plugin-guide.md");
        let headings: Vec<&str> = (guide.lines())
            .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
            .collect();
        let mut pointers = 0;
        for text in [
            TEMPLATE_LIB,
            TEMPLATE_TEST,
            TEMPLATE_MANIFEST,
            TEMPLATE_README,
        ] {
            for (_, rest) in text
                .match_indices("the \"")
                .map(|(i, _)| text.split_at(i + 5))
            {
                let Some((name, after)) = rest.split_once('"') else {
                    continue;
                };
                if after.trim_start().starts_with("section") {
                    pointers += 1;
                    assert!(
                        headings.contains(&name),
                        "the template points to a guide section \"{name}\" that does not exist; \
                         the guide's sections: {headings:?}"
                    );
                }
            }
        }
        assert!(
            pointers >= 1,
            "no pointer into the guide found: is the pattern still right?"
        );
    }

    #[test]
    fn the_dependency_is_by_path_by_version_or_by_git_tag() {
        let names = Names::of("access.x").unwrap();
        let by_path = cargo_toml(&names, &Api::Path("/src/wshost/plugin-api".into()));
        assert!(by_path.contains(
            r#"plugin-api = { package = "wshost-plugin-api", path = "/src/wshost/plugin-api" }"#
        ));
        let by_version = cargo_toml(&names, &Api::Version("1.0.2".into()));
        assert!(by_version.contains(r#"version = "1.0.2", features = ["testing"] }"#));
        let by_git = cargo_toml(
            &names,
            &Api::Git {
                url: "https://example.com/wshost.git".into(),
                tag: "v1.0.2".into(),
            },
        );
        assert!(by_git.contains(
            r#"git = "https://example.com/wshost.git", tag = "v1.0.2", features = ["testing"] }"#
        ));
        for text in [by_path, by_version, by_git] {
            let parsed: toml::Value = toml::from_str(&text).unwrap();
            assert!(
                parsed.get("workspace").is_some(),
                "an empty [workspace] of its own"
            );
        }
    }

    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        new: NewArgs,
    }

    fn choose(args: &[&str]) -> Result<Api, String> {
        let cli = Cli::try_parse_from(["new", "access.x"].iter().chain(args))
            .map_err(|e| e.kind().to_string())?;
        Api::choose(&cli.new).map_err(|e| e.to_string())
    }

    #[test]
    fn the_registry_is_the_default_never_a_path_of_the_build_machine() {
        assert_eq!(choose(&[]), Ok(Api::Version(host_api_version().into())));
        assert_eq!(
            choose(&["--api-version", "1.1"]),
            Ok(Api::Version("1.1".into()))
        );
        let tagged = choose(&["--api-git", "https://g/w.git", "--api-tag", "v1.0.2"]);
        assert_eq!(
            tagged,
            Ok(Api::Git {
                url: "https://g/w.git".into(),
                tag: "v1.0.2".into()
            })
        );
        let here = env!("CARGO_MANIFEST_DIR").to_owned() + "/../plugin-api";
        assert!(matches!(choose(&["--api-path", &here]), Ok(Api::Path(_))));
    }

    #[test]
    fn the_forms_exclude_each_other_and_a_git_url_needs_its_tag() {
        for args in [
            &["--api-path", ".", "--api-version", "1"][..],
            &["--api-path", ".", "--api-git", "u", "--api-tag", "t"],
            &["--api-version", "1", "--api-git", "u", "--api-tag", "t"],
            &["--api-git", "u"],
            &["--api-tag", "t"],
        ] {
            assert!(choose(args).is_err(), "{args:?} was accepted");
        }
        let err = choose(&["--api-path", "/nonexistent"]).unwrap_err();
        assert!(err.contains("no wshost-plugin-api crate there"), "{err}");
    }
}
