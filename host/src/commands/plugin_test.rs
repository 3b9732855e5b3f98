//! `wshost plugins test`: loads one plugin library the way the host does, checks it against
//! its manifest, opens a workspace from `--param` values validated by that manifest, and runs
//! plugin-api's conformance suite on the driver, printing one line per case. `wshost plugins
//! fixture` writes the suite's fixture tree, which `--seeded` reads.
//!
//! The plugin gets in-memory host services (`plugin_api::testing::MemoryHost`), so nothing of
//! a deployment — config, database, other plugins — is needed or touched; only the storage
//! behind the driver is, inside the suite's own scratch folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};

use plugin_api::testing::conformance::{self, seed, Options};
use plugin_api::testing::MemoryHost;
use plugin_api::WorkspaceConfig;

use crate::plugins::library;
use crate::{manifest, paths};

/// Flags of `wshost plugins test`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  wshost plugins test target/debug/libaccess_fs.so --manifest manifests/access.fs.toml \\
      --param ROOT=/tmp/scratch --param CREATE=true

Prints one line per case, PASS|FAIL|SKIP NAME — WHY, then a summary; exits with 1 if a case
failed. Cases the driver's capabilities exclude are skipped. The suite works inside a folder
conformance-RANDOM that it creates under --base and deletes at the end.

A read-only driver cannot create what the read cases read: write the fixture tree with
`wshost plugins fixture DIR`, put DIR's contents into the backend, and add --seeded (the tree
at the workspace root) or --seeded=PATH (the tree in the workspace folder PATH).")]
pub(crate) struct TestArgs {
    /// Path of the plugin library (`libaccess_fs.so`).
    library: PathBuf,
    /// The plugin's manifest (`access.fs.toml`).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// A workspace parameter, validated against the manifest; repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// The folder of the workspace under which the suite creates its scratch folder.
    #[arg(long, value_name = "PATH", default_value = "")]
    base: String,
    /// Run only the cases whose name starts with PREFIX (`read.`, `copy.folder`); repeatable.
    #[arg(long = "case", value_name = "PREFIX")]
    cases: Vec<String>,
    /// Skip the case named NAME, a documented limitation of the backend; repeatable.
    #[arg(long = "skip", value_name = "NAME")]
    skip: Vec<String>,
    /// Read cases read the fixture tree (`wshost plugins fixture`) in the workspace folder
    /// PATH (`--seeded`: the root) instead of creating their input.
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    seeded: Option<String>,
    /// Size of the large streamed write, in bytes [default: 8 MiB].
    #[arg(long, value_name = "BYTES")]
    large_size: Option<u64>,
    /// The deployment URL the plugin is told (and `{public_url}` in defaults expands to).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    public_url: String,
}

/// Runs the suite; the exit code says whether every case passed.
pub(crate) fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let library = args.library.display();
    // Absolute, so that a bare `libx.so` means the file here, not a search of the loader's path.
    let path = std::path::absolute(&args.library).with_context(|| library.to_string())?;
    let manifest = manifest::load_file(&args.manifest)?;
    let lib = library::load_checked(&path, &manifest).map_err(|e| anyhow!(e))?;

    let input = parse_params(&args.params)?;
    let data_dir = std::env::current_dir().context("the current folder")?;
    let scope = manifest::Scope {
        user: Some("conformance"),
        data_dir: &data_dir,
        public_url: &args.public_url,
    };
    let params = manifest
        .validate(&input, &scope)
        .and_then(|params| manifest.expand(&params, &scope).map_err(|e| vec![e]))
        .map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            anyhow!(
                "the parameters do not satisfy the manifest {}:\n{}",
                args.manifest.display(),
                lines.join("\n")
            )
        })?;
    let options = options(args)?;

    let config = WorkspaceConfig {
        id: "conformance".into(),
        params,
    };
    let host = MemoryHost::new(&args.public_url);
    host.add_workspace(config.clone());
    let plugin = lib
        .init(host.clone())
        .map_err(|e| anyhow!("{library}: initialization failed: {e}"))?;
    let driver = plugin
        .open(&config)
        .map_err(|e| anyhow!("{library}: cannot open a workspace with these parameters: {e}"))?;

    let info = &plugin.info;
    println!(
        "conformance of {} {} (plugin-api {}, host plugin-api {})",
        info.id,
        info.version,
        info.api_version,
        library::host_api_version()
    );
    if let Some(tree) = &options.seed {
        let at = if tree.is_empty() { "the root" } else { tree };
        println!("seeded: the read cases read the fixture tree at {at}");
    }
    let report = conformance::run(&driver, &options);
    println!("{report}");
    for (level, line) in host.logs() {
        eprintln!("plugin log [{level:?}] {line}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `wshost plugins fixture DIR`: writes the tree and says what to do with it.
pub(crate) fn fixture(dir: &Path) -> anyhow::Result<ExitCode> {
    seed::write_to(dir).context("cannot write the fixture tree")?;
    let tree = seed::tree();
    let folders = tree.iter().filter(|e| e.is_dir()).count();
    let bytes: u64 = tree.iter().filter_map(|e| e.size).sum();
    println!(
        "wrote the conformance fixture to {}: {} files ({bytes} bytes) in {folders} folders.\n\
         Put the folder's contents into your backend (zip it, upload it, mount it), then run\n  \
         wshost plugins test LIBRARY --manifest FILE --param … --seeded[=PATH]\n\
         where PATH is the workspace folder holding them (default: the root).",
        dir.display(),
        tree.len() - folders,
    );
    Ok(ExitCode::SUCCESS)
}

/// `NAME=VALUE` flags as a map; a name given twice is refused rather than silently replaced.
fn parse_params(flags: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for flag in flags {
        let Some((name, value)) = flag.split_once('=') else {
            bail!("--param expects NAME=VALUE, got '{flag}'");
        };
        if params.insert(name.to_owned(), value.to_owned()).is_some() {
            bail!("--param {name} is given twice; expected it once");
        }
    }
    Ok(params)
}

fn options(args: &TestArgs) -> anyhow::Result<Options> {
    let base = paths::normalize(&args.base)
        .with_context(|| format!("--base '{}' is not a workspace path", args.base))?;
    let defaults = Options::default();
    let names: Vec<&str> = conformance::cases().iter().map(|c| c.name).collect();
    for prefix in &args.cases {
        if !names.iter().any(|n| n.starts_with(prefix.as_str())) {
            bail!(
                "--case {prefix} matches no case; the cases are: {}",
                names.join(", ")
            );
        }
    }
    for name in &args.skip {
        if !names.contains(&name.as_str()) {
            bail!(
                "--skip {name} names no case; the cases are: {}",
                names.join(", ")
            );
        }
    }
    let seed = (args.seeded.as_deref())
        .map(|tree| {
            paths::normalize(tree)
                .with_context(|| format!("--seeded={tree} is not a workspace path"))
        })
        .transpose()?;
    Ok(Options {
        base,
        seed,
        only: args.cases.clone(),
        skip: args.skip.clone(),
        large_size: args.large_size.unwrap_or(defaults.large_size),
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_name_value_pairs_given_once() {
        let ok = parse_params(&["ROOT=/a=b".into(), "CREATE=".into()]).unwrap();
        assert_eq!(ok["ROOT"], "/a=b");
        assert_eq!(ok["CREATE"], "");
        for (flags, message) in [
            (vec!["ROOT"], "expects NAME=VALUE"),
            (vec!["A=1", "A=2"], "given twice"),
        ] {
            let flags: Vec<String> = flags.into_iter().map(String::from).collect();
            let err = parse_params(&flags).unwrap_err().to_string();
            assert!(err.contains(message), "{flags:?}: {err}");
        }
    }
}
