//! The web UI in a real browser: headless Chromium driven through ChromeDriver (WebDriver),
//! against the real `wshost` binary. One flow: the admin logs in, creates an access.fs
//! workspace through the form generated from its manifest (one round trip with a validation
//! error), verifies it and grants users; a read-write user uploads, downloads (bytes
//! compared), renames, moves into a new folder and deletes a file; a read-only user sees no
//! write controls; the admin disables the driver and the new-workspace page stops offering
//! it. No page may log a script error. A second flow connects a Dropbox workspace through
//! the "Connect Dropbox" button and the fake Dropbox's approval page; another makes, sees
//! once and revokes an app password. The file browser's batch actions have a test each:
//! a selection deleted, copied and moved; files and a folder dropped to upload; a selection
//! downloaded as a zip and unpacked; sorting by a column and paging through a folder.
//!
//! On failure the page's screenshot and HTML are saved under
//! `target/browser-artifacts/<test>.png|.html`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use wshost_tests::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A check that failed, with what was expected.
type Flow<T = ()> = Result<T, String>;

fn fail<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn ensure(cond: bool, what: impl Into<String>) -> Flow {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

/// ChromeDriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn start_driver(exe: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn open_browser(driver: &Driver, profile: &Path) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// Where failure artifacts go: `target/browser-artifacts`.
fn artifacts_dir() -> PathBuf {
    target_dir()
        .parent()
        .map_or_else(|| root().join("target"), Path::to_path_buf)
        .join("browser-artifacts")
}

async fn save_artifacts(b: &Browser, test: &str) {
    let dir = artifacts_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{test}.png")), png);
    }
    if let Ok(html) = b.source().await {
        let _ = std::fs::write(dir.join(format!("{test}.html")), html);
    }
    let url = b
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    eprintln!(
        "browser artifacts of {test} (page {url}) saved in {}",
        dir.display()
    );
}

/// Runs `flow` in a fresh browser; on failure saves the artifacts and panics.
fn with_browser<F>(test: &str, flow: F)
where
    F: for<'a> FnOnce(
        &'a Browser,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Flow> + 'a>>,
{
    let (Some(driver_exe), true) = (chromedriver(), Path::new(CHROMIUM).is_file()) else {
        require("Chromium and ChromeDriver")
    };
    let driver = start_driver(&driver_exe);
    let profile = tempfile::tempdir().expect("profile dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let b = open_browser(&driver, profile.path()).await;
        let result = flow(&b).await;
        if result.is_err() {
            save_artifacts(&b, test).await;
        }
        let _ = b.close().await;
        result
    });
    drop(driver);
    if let Err(e) = result {
        panic!("{test}: {e}");
    }
}

const WAIT: Duration = Duration::from_secs(15);

async fn wait_css(b: &Browser, css: &str) -> Flow<fantoccini::elements::Element> {
    let deadline = Instant::now() + WAIT;
    loop {
        match b.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            // A page the script reloads cuts ChromeDriver's search short: search the new one.
            Err(e)
                if e.to_string().contains("aborted by navigation") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            found => return found.map_err(fail(&format!("waiting for `{css}`"))),
        }
    }
}

async fn wait_gone(b: &Browser, css: &str) -> Flow {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = b.find_all(Locator::Css(css)).await.map_err(fail(css))?;
        if found.is_empty() {
            return Ok(());
        }
        ensure(Instant::now() < deadline, format!("`{css}` is still there"))?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_url(b: &Browser, part: &str) -> Flow {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = b.current_url().await.map_err(fail("current url"))?;
        if url.as_str().contains(part) {
            return Ok(());
        }
        ensure(
            Instant::now() < deadline,
            format!("the browser is at {url}, expected a URL containing {part}"),
        )?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(b: &Browser, css: &str) -> Flow<String> {
    wait_css(b, css).await?.text().await.map_err(fail(css))
}

/// Waits until the text of `css` satisfies `ok` (the page may still be the previous one).
async fn wait_text(b: &Browser, css: &str, ok: impl Fn(&str) -> bool) -> Flow<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(el) = b.find(Locator::Css(css)).await {
            if let Ok(t) = el.text().await {
                if ok(&t) {
                    return Ok(t);
                }
                ensure(Instant::now() < deadline, format!("`{css}` reads {t:?}"))?;
            }
        }
        ensure(Instant::now() < deadline, format!("no `{css}`"))?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn value(b: &Browser, css: &str) -> Flow<String> {
    let el = wait_css(b, css).await?;
    Ok(el
        .prop("value")
        .await
        .map_err(fail(css))?
        .unwrap_or_default())
}

async fn fill(b: &Browser, css: &str, text: &str) -> Flow {
    let el = wait_css(b, css).await?;
    el.clear().await.map_err(fail(css))?;
    el.send_keys(text).await.map_err(fail(css))
}

async fn click(b: &Browser, css: &str) -> Flow {
    wait_css(b, css).await?.click().await.map_err(fail(css))
}

/// No page so far logged a script error (collected by `ui.js` into `window.__errors`).
async fn no_script_errors(b: &Browser, page: &str) -> Flow {
    let errors = b
        .execute("return window.__errors || ['ui.js did not run'];", vec![])
        .await
        .map_err(fail("read window.__errors"))?;
    ensure(
        errors.as_array().is_some_and(|a| a.is_empty()),
        format!("script errors on {page}: {errors}"),
    )
}

/// Uploads `file` with the file browser's upload form, waits for its row and answers the CSS
/// selector of its download link.
async fn upload_in_page(b: &Browser, file: &std::path::Path) -> Flow<String> {
    wait_css(b, "#upload-input")
        .await?
        .send_keys(&file.display().to_string())
        .await
        .map_err(fail("choose the file"))?;
    click(b, "#upload-button").await?;
    let name = file.file_name().unwrap().to_string_lossy();
    let link = format!("tr.entry[data-name='{name}'] a.file");
    wait_css(b, &link).await?;
    Ok(link)
}

/// The bytes the link at `css` serves, fetched by the page itself (its session, its origin).
async fn download_in_page(b: &Browser, css: &str) -> Flow<Vec<u8>> {
    let downloaded = b
        .execute(
            "return fetch(document.querySelector(arguments[0]).href)\
               .then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)));",
            vec![json!(css)],
        )
        .await
        .map_err(fail("download in the page"))?;
    Ok(downloaded
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as u8)
                .collect()
        })
        .unwrap_or_default())
}

/// Ticks the checkbox of the file browser's entry `name`.
async fn pick(b: &Browser, name: &str) -> Flow {
    click(b, &format!("tr.entry[data-name='{name}'] input.pick")).await
}

/// Waits until the file browser lists exactly `want`, in that order.
async fn wait_names(b: &Browser, want: &[&str]) -> Flow {
    let deadline = Instant::now() + WAIT;
    loop {
        // Between two pages the script has no document to run in: read again.
        let names = b
            .execute(
                "return Array.from(document.querySelectorAll('tr.entry'), r => r.dataset.name);",
                vec![],
            )
            .await
            .unwrap_or_default();
        if names == json!(want) {
            return Ok(());
        }
        ensure(
            Instant::now() < deadline,
            format!("the listing is {names}, expected {want:?}"),
        )?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(b: &Browser, host: &str, user: &str, password: &str) -> Flow {
    b.goto(&format!("{host}/ui/login"))
        .await
        .map_err(fail("goto login"))?;
    fill(b, "#username", user).await?;
    fill(b, "#password", password).await?;
    click(b, "#login").await?;
    wait_css(b, "#logout").await.map(|_| ())
}

#[test]
fn admin_creates_a_workspace_and_a_user_manages_files() {
    let h = Host::start(HostSetup::new(
        String::new(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("alice", false);
    h.add_user("bob", false);
    let url = h.url.clone();
    let root = h.dir.path().join("projects");
    let upload_dir = tempfile::tempdir().unwrap();
    let upload = upload_dir.path().join("report.bin");
    let bytes = pattern_chunk(7, 0, 48 * 1024);
    std::fs::write(&upload, &bytes).unwrap();

    with_browser("admin_creates_a_workspace_and_a_user_manages_files", |b| {
        Box::pin(async move {
            // A browser opening the host lands in the UI, through the login page.
            b.goto(&format!("{url}/")).await.map_err(fail("goto /"))?;
            wait_url(b, "/ui/login?next=").await?;
            b.goto(&format!("{url}/ui/admin/workspaces/new"))
                .await
                .map_err(fail("goto new"))?;
            wait_url(b, "/ui/login?next=%2Fui%2Fadmin%2Fworkspaces%2Fnew").await?;
            fill(b, "#username", "admin").await?;
            fill(b, "#password", ADMIN_PASSWORD).await?;
            click(b, "#login").await?;

            // The driver choice, then the form generated from access.fs's manifest.
            click(b, "a[data-driver='access.fs']").await?;
            wait_css(b, "#workspace-form").await?;
            let mandatory = b
                .find_all(Locator::Css("[data-field='ROOT'] .mandatory"))
                .await
                .map_err(fail("mandatory mark"))?;
            ensure(mandatory.len() == 1, "ROOT is marked mandatory")?;
            let create = wait_css(b, "details [data-field='CREATE'] input[type=checkbox]").await?;
            ensure(
                !create.is_displayed().await.map_err(fail("CREATE shown"))?,
                "advanced fields start folded",
            )?;
            fill(b, "#f-label", "Projects").await?;
            fill(b, "#f-id", "projects").await?;
            fill(b, "#f-ROOT", "relative/folder").await?;
            click(b, "#save").await?;

            // The server's error sits next to its field; what was typed is kept.
            wait_text(b, "[data-field='ROOT'] .field-error", |t| {
                t.contains("pattern")
            })
            .await?;
            ensure(
                value(b, "#f-label").await? == "Projects",
                "the label is kept",
            )?;
            ensure(
                value(b, "#f-ROOT").await? == "relative/folder",
                "the typed ROOT is kept",
            )?;
            // A folder that does not exist: the driver's check refuses it before it is saved.
            fill(b, "#f-ROOT", &root.display().to_string()).await?;
            ensure(
                wait_css(b, "#verify_first")
                    .await?
                    .is_selected()
                    .await
                    .map_err(fail("verify box"))?,
                "Verify before saving starts ticked",
            )?;
            click(b, "#save").await?;
            wait_text(b, ".general-error", |t| {
                t.contains("was not saved") && t.contains("check failed")
            })
            .await?;
            ensure(
                value(b, "#f-ROOT").await? == root.display().to_string(),
                "the typed ROOT is kept after the check failed",
            )?;
            click(b, "details summary").await?;
            click(b, "#f-CREATE").await?;
            click(b, "#save").await?;
            wait_url(b, "/ui/admin/workspaces/projects?created=checked").await?;
            ensure(
                text(b, "#notice").await?.contains("checked by its driver"),
                "a created notice that says it was checked",
            )?;

            // Verify runs the driver; grant read-write to alice.
            click(b, "#verify").await?;
            let verify = text(b, "#verify-result").await?;
            ensure(
                verify.starts_with("OK"),
                format!("verify answered {verify:?}"),
            )?;
            wait_css(b, "#grant-user")
                .await?
                .select_by_value("alice")
                .await
                .map_err(fail("choose alice"))?;
            wait_css(b, "#grant-access")
                .await?
                .select_by_value("rw")
                .await
                .map_err(fail("choose rw"))?;
            click(b, "#grant").await?;
            let row = text(b, "#grants tr[data-user='alice']").await?;
            ensure(row.contains("read-write"), format!("grant row {row:?}"))?;
            wait_css(b, "#grant-user")
                .await?
                .select_by_value("bob")
                .await
                .map_err(fail("choose bob"))?;
            click(b, "#grant").await?;
            let row = text(b, "#grants tr[data-user='bob']").await?;
            ensure(row.contains("read-only"), format!("grant row {row:?}"))?;
            no_script_errors(b, "the admin pages").await?;
            click(b, "#logout").await?;
            wait_url(b, "/ui/login").await?;

            // Alice sees the workspace and manages a file in it.
            login(b, &url, "alice", "alice-password").await?;
            click(b, "a[data-ws='projects']").await?;
            wait_url(b, "/ui/workspaces/projects").await?;
            wait_css(b, "#empty").await?;
            let link = upload_in_page(b, &upload).await?;
            let got = download_in_page(b, &link).await?;
            ensure(
                got == bytes,
                format!("downloaded {} bytes, uploaded {}", got.len(), bytes.len()),
            )?;
            ensure(
                root.join("report.bin").is_file(),
                "the file is in the folder",
            )?;

            click(b, "tr.entry[data-name='report.bin'] button.rename").await?;
            fill(
                b,
                "tr.entry[data-name='report.bin'] form.rename-form input",
                "final.bin",
            )
            .await?;
            click(
                b,
                "tr.entry[data-name='report.bin'] form.rename-form button[type=submit]",
            )
            .await?;
            wait_css(b, "tr.entry[data-name='final.bin']").await?;

            // A new folder, the file moved into it, and the folder opened.
            fill(b, "#mkdir-name", "archive").await?;
            click(b, "#mkdir-button").await?;
            wait_css(b, "tr.entry[data-name='archive'] a.dir").await?;
            pick(b, "final.bin").await?;
            click(b, "#batch-move").await?;
            fill(b, "#dest-input", "archive").await?;
            click(b, "#dest-submit").await?;
            wait_gone(b, "tr.entry[data-name='final.bin']").await?;
            click(b, "tr.entry[data-name='archive'] a.dir").await?;
            wait_url(b, "dir=archive").await?;
            wait_text(b, ".crumbs [aria-current=page]", |t| t == "archive").await?;
            ensure(root.join("archive/final.bin").is_file(), "the file moved")?;

            pick(b, "final.bin").await?;
            click(b, "#batch-delete").await?;
            b.accept_alert()
                .await
                .map_err(fail("confirm the deletion"))?;
            wait_gone(b, "tr.entry[data-name='final.bin']").await?;
            wait_css(b, "#empty").await?;
            ensure(
                !root.join("archive/final.bin").exists(),
                "the file is deleted",
            )?;
            no_script_errors(b, "the file browser").await?;
            click(b, "#logout").await?;
            wait_url(b, "/ui/login").await?;

            // Bob's access is read-only: no write controls.
            login(b, &url, "bob", "bob-password").await?;
            b.goto(&format!("{url}/ui/workspaces/projects"))
                .await
                .map_err(fail("goto projects"))?;
            wait_css(b, "#read-only").await?;
            // Reading is enough to download a selection.
            wait_css(b, "#batch-zip").await?;
            for css in [
                "#upload-input",
                "#mkdir-name",
                "#batch-delete",
                "#batch-move",
            ] {
                let found = b.find_all(Locator::Css(css)).await.map_err(fail(css))?;
                ensure(found.is_empty(), format!("a read-only user sees `{css}`"))?;
            }
            click(b, "#logout").await?;
            wait_url(b, "/ui/login").await?;

            // The admin disables access.fs: the new-workspace page stops offering it.
            login(b, &url, "admin", ADMIN_PASSWORD).await?;
            b.goto(&format!("{url}/ui/admin/plugins"))
                .await
                .map_err(fail("plugins"))?;
            click(b, "tr[data-plugin='access.fs'] button.toggle").await?;
            wait_text(b, "tr[data-plugin='access.fs'] .state", |t| t == "no").await?;
            b.goto(&format!("{url}/ui/admin/workspaces/new"))
                .await
                .map_err(fail("new"))?;
            wait_css(b, "#no-drivers").await?;
            wait_gone(b, "a[data-driver='access.fs']").await?;
            b.goto(&format!("{url}/ui/admin/plugins"))
                .await
                .map_err(fail("plugins"))?;
            click(b, "tr[data-plugin='access.fs'] button.toggle").await?;
            wait_text(b, "tr[data-plugin='access.fs'] .state", |t| t == "yes").await?;
            b.goto(&format!("{url}/ui/admin/workspaces/new"))
                .await
                .map_err(fail("new"))?;
            wait_css(b, "a[data-driver='access.fs']").await?;
            no_script_errors(b, "the plugins page").await
        })
    });
}

/// A host with the access.fs workspace `files` and its read-write user alice, `config` added
/// to its host.toml; and the workspace's folder, created.
fn files_host(config: &str) -> (Host, PathBuf) {
    let h = Host::start(HostSetup::new(
        format!("{}{config}", fs_config()),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("alice", false);
    h.grant("files", "alice", "rw");
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    (h, root)
}

/// Writes `files` (path, bytes) under `root`, making their folders.
fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// Select-all ticks and unticks every row; two of four files ticked are deleted in one
/// batch; a copy of the other two into a folder that already holds one of them copies the
/// other and says which failed and why; a file is moved into a folder (its destination form
/// cancelled once with Escape first); the listing and the disk agree after each step.
#[test]
fn a_user_deletes_and_moves_a_selection() {
    let (h, root) = files_host("");
    write_tree(
        &root,
        &[
            ("a.txt", b"a"),
            ("b.txt", b"b"),
            ("c.txt", b"c"),
            ("d.txt", b"d"),
            ("dest/c.txt", b"old"),
            ("dest/inner/keep", b""),
        ],
    );
    let url = h.url.clone();
    with_browser("a_user_deletes_and_moves_a_selection", |b| {
        Box::pin(async move {
            login(b, &url, "alice", "alice-password").await?;
            b.goto(&format!("{url}/ui/workspaces/files"))
                .await
                .map_err(fail("goto files"))?;
            wait_names(b, &["dest", "a.txt", "b.txt", "c.txt", "d.txt"]).await?;
            ensure(
                !wait_css(b, "#batch-delete")
                    .await?
                    .is_enabled()
                    .await
                    .map_err(fail("enabled"))?,
                "nothing selected: the batch buttons are disabled",
            )?;
            click(b, "#select-all").await?;
            wait_text(b, "#selected-count", |t| t == "5 selected").await?;
            click(b, "#select-all").await?;
            wait_text(b, "#selected-count", |t| t == "0 selected").await?;

            pick(b, "a.txt").await?;
            // The keyboard ticks a box too (Space on the focused checkbox).
            wait_css(b, "tr.entry[data-name='b.txt'] input.pick")
                .await?
                .send_keys(" ")
                .await
                .map_err(fail("press Space"))?;
            wait_text(b, "#selected-count", |t| t == "2 selected").await?;
            let all = wait_css(b, "#select-all").await?;
            ensure(
                all.prop("indeterminate")
                    .await
                    .map_err(fail("indeterminate"))?
                    == Some("true".into()),
                "select-all is indeterminate while some rows are ticked",
            )?;
            click(b, "#batch-delete").await?;
            b.accept_alert()
                .await
                .map_err(fail("confirm the deletion"))?;
            wait_names(b, &["dest", "c.txt", "d.txt"]).await?;
            ensure(
                !root.join("a.txt").exists() && !root.join("b.txt").exists(),
                "both files are deleted",
            )?;
            ensure(root.join("c.txt").is_file(), "the third file is left")?;

            // dest/c.txt exists: that copy fails at run time (HTTP 207), d.txt is copied.
            click(b, "#select-all").await?;
            pick(b, "dest").await?;
            wait_text(b, "#selected-count", |t| t == "2 selected").await?;
            click(b, "#batch-copy").await?;
            wait_text(b, "#dest-label", |t| t.contains("Copy the 2 selected")).await?;
            fill(b, "#dest-input", "dest").await?;
            click(b, "#dest-submit").await?;
            let status = wait_text(b, "#status", |t| t.contains("failed")).await?;
            ensure(
                status.contains("1 item(s) copied to dest, 1 failed")
                    && status.contains("c.txt: ")
                    && status.contains("already exists"),
                format!("the status names the failed copy: {status:?}"),
            )?;
            ensure(
                std::fs::read(root.join("dest/d.txt")).ok() == Some(b"d".to_vec())
                    && std::fs::read(root.join("dest/c.txt")).ok() == Some(b"old".to_vec()),
                "d.txt is copied, dest/c.txt is left as it was",
            )?;
            b.refresh().await.map_err(fail("reload"))?;
            wait_names(b, &["dest", "c.txt", "d.txt"]).await?;

            pick(b, "c.txt").await?;
            click(b, "#batch-move").await?;
            wait_text(b, "#dest-label", |t| t.contains("Move the 1 selected")).await?;
            wait_css(b, "#dest-input")
                .await?
                .send_keys("\u{e00c}")
                .await
                .map_err(fail("press Escape"))?;
            ensure(
                !wait_css(b, "#dest-form")
                    .await?
                    .is_displayed()
                    .await
                    .map_err(fail("shown"))?,
                "Escape closes the destination form",
            )?;
            let focused = b
                .execute("return document.activeElement.id;", vec![])
                .await
                .map_err(fail("focus"))?;
            ensure(
                focused == json!("batch-move"),
                format!("focus goes back to the Move button, not {focused}"),
            )?;
            click(b, "#batch-move").await?;
            fill(b, "#dest-input", "dest/inner").await?;
            click(b, "#dest-submit").await?;
            wait_names(b, &["dest", "d.txt"]).await?;
            ensure(
                std::fs::read(root.join("dest/inner/c.txt")).ok() == Some(b"c".to_vec())
                    && !root.join("c.txt").exists(),
                "the file moved into the folder",
            )?;
            no_script_errors(b, "the file browser").await
        })
    });
}

/// Files dropped on the file browser (a `drop` event whose DataTransfer the page builds
/// from File objects) go up one by one, each with its line: done ones at 100 %, the one the
/// server refuses with its error and no progress bar; the others arrive byte for byte.
#[test]
fn a_user_drops_files_to_upload_them() {
    let (h, root) = files_host("");
    let files: Vec<(String, Vec<u8>)> = (0..3u64)
        .map(|i| {
            (
                format!("dropped-{i}.bin"),
                pattern_chunk(21 + i, i, 40_000 + 9_000 * i as usize),
            )
        })
        .collect();
    let url = h.url.clone();
    let dropped = files.clone();
    with_browser("a_user_drops_files_to_upload_them", |b| {
        Box::pin(async move {
            login(b, &url, "alice", "alice-password").await?;
            b.goto(&format!("{url}/ui/workspaces/files"))
                .await
                .map_err(fail("goto files"))?;
            wait_css(b, "#empty").await?;
            // The last name is one no path may hold: the server refuses that upload alone.
            let mut sent: Vec<_> = dropped
                .iter()
                .map(|(name, bytes)| json!({ "name": name, "bytes": bytes }))
                .collect();
            sent.push(json!({ "name": "..", "bytes": [1, 2, 3] }));
            b.execute(
                "const dt = new DataTransfer();\
                 for (const f of arguments[0]) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));\
                 document.getElementById('drop-zone').dispatchEvent(\
                   new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
                vec![json!(sent)],
            )
            .await
            .map_err(fail("drop the files"))?;
            let status = wait_text(b, "#status", |t| t.contains("failed")).await?;
            ensure(
                status.contains("3 of 4 uploaded"),
                format!("the status counts the uploads: {status:?}"),
            )?;
            for (name, _) in &dropped {
                let line = format!("#uploads li[data-name='{name}']");
                let state = text(b, &format!("{line} .state")).await?;
                ensure(state == "done", format!("{name}: {state:?}"))?;
                let value = b
                    .execute(
                        "return document.querySelector(arguments[0]).value;",
                        vec![json!(format!("{line} progress"))],
                    )
                    .await
                    .map_err(fail("the progress bar"))?;
                ensure(value == json!(100), format!("{name} at {value}"))?;
            }
            let refused = text(b, "#uploads li[data-name='..']").await?;
            ensure(
                refused.contains("failed: ") && !refused.contains('%'),
                format!("the refused upload shows its error and no percentage: {refused:?}"),
            )?;
            let bars = b
                .find_all(Locator::Css("#uploads li[data-name='..'] progress"))
                .await
                .map_err(fail("bars"))?;
            ensure(bars.is_empty(), "no progress bar beside an error")?;
            for (name, bytes) in &dropped {
                ensure(
                    std::fs::read(root.join(name)).ok().as_ref() == Some(bytes),
                    format!("{name} arrived byte for byte"),
                )?;
            }
            b.refresh().await.map_err(fail("reload"))?;
            wait_names(b, &["dropped-0.bin", "dropped-1.bin", "dropped-2.bin"]).await?;

            // A dropped folder, read through webkitGetAsEntry: WebDriver cannot drag one from
            // the disk, so the page builds stand-ins of the browser's entries, read as the
            // FileSystemEntry API reads (readEntries until an empty batch). `album` is
            // already there (filled, not refused); `album/inner` is made first.
            std::fs::create_dir(root.join("album")).map_err(fail("mkdir album"))?;
            b.execute(
                "const file = f => ({ isFile: true, isDirectory: false, name: f.name,\
                   file: ok => ok(new File([new Uint8Array(f.bytes)], f.name)) });\
                 const folder = d => { const all = d.files.map(file).concat(d.dirs.map(folder));\
                   return { isFile: false, isDirectory: true, name: d.name, createReader: () => {\
                     let read = false;\
                     return { readEntries: ok => {\
                       const batch = read ? [] : all;\
                       read = true;\
                       setTimeout(() => ok(batch)); } }; } }; };\
                 const dt = { types: ['Files'], files: [],\
                   items: [{ kind: 'file', webkitGetAsEntry: () => folder(arguments[0]) }] };\
                 const drop = new Event('drop', { bubbles: true, cancelable: true });\
                 Object.defineProperty(drop, 'dataTransfer', { value: dt });\
                 document.getElementById('drop-zone').dispatchEvent(drop);",
                vec![json!({
                    "name": "album",
                    "files": [{ "name": "cover.bin", "bytes": &dropped[0].1 }],
                    "dirs": [{ "name": "inner", "files": [{ "name": "deep.bin", "bytes": &dropped[1].1 }], "dirs": [] }],
                })],
            )
            .await
            .map_err(fail("drop the folder"))?;
            // Everything arrived: the page reloads and lists the folder.
            wait_names(
                b,
                &["album", "dropped-0.bin", "dropped-1.bin", "dropped-2.bin"],
            )
            .await?;
            ensure(
                std::fs::read(root.join("album/cover.bin")).ok().as_ref() == Some(&dropped[0].1)
                    && std::fs::read(root.join("album/inner/deep.bin"))
                        .ok()
                        .as_ref()
                        == Some(&dropped[1].1),
                "the folder's files arrived byte for byte, in their folders",
            )?;
            no_script_errors(b, "the file browser").await
        })
    });
}

/// A folder and a file ticked download as one zip (the form's own request, fetched by the
/// page), named relative to the current folder; what was not ticked is not in it.
#[test]
fn a_user_downloads_a_selection_as_zip() {
    let (h, root) = files_host("");
    let big = pattern_chunk(31, 0, 200_000);
    let tree: [(&str, &[u8]); 4] = [
        ("docs/x.txt", b"x in docs"),
        ("docs/sub/y.bin", &big),
        ("z.bin", b"zzz"),
        ("left-out.txt", b"not selected"),
    ];
    write_tree(&root, &tree);
    let url = h.url.clone();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let zip = got.clone();
    with_browser("a_user_downloads_a_selection_as_zip", |b| {
        Box::pin(async move {
            login(b, &url, "alice", "alice-password").await?;
            b.goto(&format!("{url}/ui/workspaces/files"))
                .await
                .map_err(fail("goto files"))?;
            pick(b, "docs").await?;
            pick(b, "z.bin").await?;
            let answer = b
                .execute(
                    "const form = document.getElementById('selection');\
                     const url = form.action + '?' + new URLSearchParams(new FormData(form));\
                     return fetch(url).then(r => r.arrayBuffer().then(b => ({\
                       type: r.headers.get('content-type'),\
                       disposition: r.headers.get('content-disposition'),\
                       bytes: Array.from(new Uint8Array(b)) })));",
                    vec![],
                )
                .await
                .map_err(fail("download the selection"))?;
            ensure(
                answer["type"] == "application/zip",
                format!("a zip: {}", answer["type"]),
            )?;
            ensure(
                answer["disposition"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("attachment")),
                format!("an attachment: {}", answer["disposition"]),
            )?;
            *zip.lock().unwrap() = answer["bytes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64())
                        .map(|v| v as u8)
                        .collect()
                })
                .unwrap_or_default();
            no_script_errors(b, "the file browser").await
        })
    });
    let bytes = got.lock().unwrap().clone();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip that opens");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        if entry.is_file() {
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            files.insert(entry.name().expect("an entry name").to_string(), content);
        }
    }
    let want: std::collections::BTreeMap<String, Vec<u8>> = tree[..3]
        .iter()
        .map(|(p, b)| (p.to_string(), b.to_vec()))
        .collect();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(files == want, "the contents match");
}

/// Clicking a column header sorts by it (folders first), then reverses, with `aria-sort` on
/// the sorted header only; a folder larger than a page (by default as many entries as a
/// batch may name; `limit`, bounded by `limits.max_page`) is walked with Next, Previous and
/// First page links.
#[test]
fn a_user_sorts_and_pages_the_file_browser() {
    let (h, root) = files_host("[limits]\nmax_page = 6\nmax_batch = 5\n");
    write_tree(
        &root,
        &[
            ("a.bin", &[0; 300]),
            ("b.bin", &[0; 100]),
            ("c.bin", &[0; 200]),
            ("d/inside", b""),
        ],
    );
    let many: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    for name in &many {
        write_tree(&root, &[(&format!("many/{name}"), b"")]);
    }
    // Above the bound: refused, not silently cut.
    let refused = h
        .client
        .get(format!("{}/ui/workspaces/files?limit=7", h.url))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    let url = h.url.clone();
    with_browser("a_user_sorts_and_pages_the_file_browser", |b| {
        Box::pin(async move {
            let sorted = |column: &str| format!("#files th[data-sort='{column}']");
            let aria = |column: &str| {
                let css = sorted(column);
                async move {
                    wait_css(b, &css)
                        .await?
                        .attr("aria-sort")
                        .await
                        .map_err(fail("aria-sort"))
                }
            };
            login(b, &url, "alice", "alice-password").await?;
            b.goto(&format!("{url}/ui/workspaces/files"))
                .await
                .map_err(fail("goto files"))?;
            wait_names(b, &["d", "many", "a.bin", "b.bin", "c.bin"]).await?;
            ensure(
                aria("name").await?.as_deref() == Some("ascending"),
                "by name",
            )?;
            click(b, &format!("{} a", sorted("size"))).await?;
            wait_names(b, &["d", "many", "b.bin", "c.bin", "a.bin"]).await?;
            ensure(
                aria("size").await?.as_deref() == Some("ascending"),
                "by size",
            )?;
            ensure(
                aria("name").await?.is_none(),
                "the name header is not sorted",
            )?;
            click(b, &format!("{} a", sorted("size"))).await?;
            wait_names(b, &["d", "many", "a.bin", "c.bin", "b.bin"]).await?;
            ensure(
                aria("size").await?.as_deref() == Some("descending"),
                "by size, largest first",
            )?;

            let page = |n: usize| {
                let want: Vec<&str> = many[n * 3..(n * 3 + 3).min(7)]
                    .iter()
                    .map(|s| s.as_str())
                    .collect();
                async move {
                    wait_names(b, &want).await?;
                    let number = text(b, "#page-number").await?;
                    ensure(number == format!("Page {}", n + 1), format!("{number:?}"))
                }
            };
            // The default page holds what one batch may name (limits.max_batch).
            b.goto(&format!("{url}/ui/workspaces/files?dir=many"))
                .await
                .map_err(fail("goto many"))?;
            wait_names(b, &["p0", "p1", "p2", "p3", "p4"]).await?;
            b.goto(&format!("{url}/ui/workspaces/files?dir=many&limit=3"))
                .await
                .map_err(fail("goto many"))?;
            page(0).await?;
            wait_gone(b, "#previous-page").await?;
            click(b, "#next-page").await?;
            page(1).await?;
            click(b, "#next-page").await?;
            page(2).await?;
            wait_gone(b, "#next-page").await?;
            click(b, "#previous-page").await?;
            page(1).await?;
            click(b, "#previous-page").await?;
            page(0).await?;
            click(b, "#next-page").await?;
            page(1).await?;
            click(b, "#next-page").await?;
            page(2).await?;
            click(b, "#first-page").await?;
            page(0).await?;
            no_script_errors(b, "the file browser").await
        })
    });
}

/// The OAuth flow as a person does it: the file browser shows a persistent "Connect Dropbox"
/// button, the fake Dropbox's approval page is clicked, and the browser lands back in the
/// workspace with its files listed.
#[test]
fn a_user_connects_dropbox_from_the_file_browser() {
    use wshost_tests::fake_dropbox::{FakeDropbox, Options};
    let h = Host::start(HostSetup::new(
        String::new(),
        vec![manifest("access.fs.toml"), manifest("access.dropbox.toml")],
    ));
    let fake = FakeDropbox::start(Options {
        client_id: Some("browserApp".into()),
        client_secret: Some("browser-app-secret".into()),
        redirect_uris: vec![format!(
            "{}/index.php?get_action=dropbox_oauth_authorize",
            h.url
        )],
        auto_approve: false,
        ..Options::default()
    });
    fake.put_file("/from-dropbox.txt", b"hello from Dropbox");
    let enabled = h
        .client
        .post(h.api("plugins/access.dropbox/enable"))
        .send()
        .unwrap();
    assert_eq!(
        enabled.status(),
        200,
        "the Dropbox driver is disabled by default"
    );
    let params = json!({
        "CLIENT_ID": "browserApp", "CLIENT_SECRET": "browser-app-secret",
        "AUTH_URL": fake.authorize_url(), "TOKEN_URL": fake.token_url(),
        "API_URL": fake.url, "CONTENT_URL": fake.url,
    });
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({ "id": "dbx", "label": "Dropbox", "driver": "access.dropbox", "params": params }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    h.add_user("carol", false);
    h.grant("dbx", "carol", "rw");
    let url = h.url.clone();

    with_browser("a_user_connects_dropbox_from_the_file_browser", |b| {
        Box::pin(async move {
            login(b, &url, "carol", "carol-password").await?;
            b.goto(&format!("{url}/ui/workspaces/dbx"))
                .await
                .map_err(fail("goto workspace"))?;
            let button = wait_text(b, "#connect-button", |t| t.contains("Connect")).await?;
            ensure(
                button.contains("Dropbox"),
                format!("the button names the provider: {button}"),
            )?;
            // Persistent: still there a moment later.
            tokio::time::sleep(Duration::from_millis(500)).await;
            wait_css(b, "#connect-button").await?;
            click(b, "#connect-button").await?;
            // The fake's approval page, then back through the host's callback.
            click(b, "#approve").await?;
            wait_url(b, "/ui/workspaces/dbx").await?;
            wait_css(b, "tr.entry[data-name='from-dropbox.txt']").await?;
            wait_gone(b, "#connect-button").await?;
            no_script_errors(b, "the workspace after connecting").await
        })
    });
}

/// Another site for the cross-site tests: serves `pages` (path and HTML; the first answers
/// any other path) on a free port of 127.0.0.1, from a thread that lives as long as the test
/// process. Reached as `localhost` it is another site than the host's `127.0.0.1`; reached as
/// `127.0.0.1` it is the same site on another origin.
fn serve_site(pages: Vec<(&'static str, String)>) -> u16 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the other site");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&head);
            let path = request.split(' ').nth(1).unwrap_or("/");
            let html = &pages
                .iter()
                .find(|(p, _)| *p == path)
                .unwrap_or(&pages[0])
                .1;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    port
}

/// A cross-site top-level navigation — a page on another site doing `location = …` to the
/// disconnect URL — carries alice's session cookie (SameSite=Lax lets top-level GETs
/// through) but no CSRF token. It must not disconnect her Dropbox: the action is POST-only,
/// so the host answers 405 before the plugin runs.
#[test]
fn a_cross_site_navigation_does_not_disconnect_dropbox() {
    use wshost_tests::fake_dropbox::FakeDropbox;
    let h = Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.dropbox\"]\n".into(),
        vec![manifest("access.dropbox.toml")],
    ));
    let fake = FakeDropbox::for_host(&h.url);
    let params = fake.workspace_params();
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({ "id": "dbx", "label": "Dropbox", "driver": "access.dropbox", "params": params }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let alice = h.add_user("alice", false);
    h.grant("dbx", "alice", "rw");
    // Alice connects (through the fake's automatic approval).
    let ls = || {
        json_of(
            alice
                .get(h.action_url("get_action=ls&ws=dbx&dir=/"))
                .send()
                .unwrap(),
        )
    };
    let (s, v) = ls();
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
    let no_redirects = |headers| {
        reqwest::blocking::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let approved = no_redirects(reqwest::header::HeaderMap::new())
        .get(v["error"]["authorize_url"].as_str().unwrap())
        .send()
        .unwrap();
    let back = approved.headers()["location"].to_str().unwrap().to_owned();
    let r = no_redirects(h.session_headers("alice", "alice-password"))
        .get(&back)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "alice connects");
    assert_eq!(ls().0, 200);

    // The other site: `localhost` is another site than the host's `127.0.0.1`.
    let target = format!("{}/?get_action=dropbox_oauth_disconnect&ws=dbx", h.url);
    let evil = serve_site(vec![(
        "/",
        format!(
            "<!doctype html><title>win a prize</title><script>location = {};</script>",
            json!(target)
        ),
    )]);
    let (url, evil_url) = (h.url.clone(), format!("http://localhost:{evil}/"));
    with_browser("a_cross_site_navigation_does_not_disconnect_dropbox", |b| {
        Box::pin(async move {
            login(b, &url, "alice", "alice-password").await?;
            b.goto(&evil_url)
                .await
                .map_err(fail("goto the other site"))?;
            wait_url(b, "get_action=dropbox_oauth_disconnect").await?;
            let page = wait_text(b, "body", |t| !t.is_empty()).await?;
            ensure(
                page.contains("method_not_allowed"),
                format!("the host refused the navigation: {page}"),
            )
        })
    });
    assert_eq!(fake.requests("auth/token/revoke"), 0, "nothing revoked");
    assert_eq!(ls().0, 200, "alice is still connected");
}

/// Issue 15, finding 3 (login CSRF): alice, logged in, visits a page of another site that
/// posts bob's credentials to the host's login form by itself. The host refuses the login, and
/// the browser is still alice's (without the fix it was bob's: what alice uploaded next went
/// into his account).
#[test]
fn a_login_form_posted_from_another_site_does_not_log_the_browser_in() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("alice", false);
    h.add_user("bob", false);
    let url = h.url.clone();
    let page = format!(
        "<!doctype html><title>win a prize</title>\
         <form id=f method=post action=\"{url}/ui/login\">\
         <input type=hidden name=username value=bob>\
         <input type=hidden name=password value=bob-password>\
         <input type=hidden name=next value=/ui/></form>\
         <script>document.getElementById('f').submit()</script>"
    );
    let evil = format!("http://localhost:{}/", serve_site(vec![("/", page)]));

    with_browser(
        "a_login_form_posted_from_another_site_does_not_log_the_browser_in",
        |b| {
            Box::pin(async move {
                login(b, &url, "alice", "alice-password").await?;
                ensure(
                    text(b, ".who").await? == "alice",
                    "alice is logged in first",
                )?;
                b.goto(&evil).await.map_err(fail("goto the foreign page"))?;
                // The form posts itself; the host answers its login page with the refusal.
                let why = wait_text(b, "#login-error", |t| !t.is_empty()).await?;
                ensure(
                    why.contains("another site"),
                    format!("the refusal says why: {why}"),
                )?;
                b.goto(&format!("{url}/ui/"))
                    .await
                    .map_err(fail("goto /ui/"))?;
                let who = text(b, ".who").await?;
                ensure(
                    who == "alice",
                    format!("the browser is still alice's, not {who}'s"),
                )
            })
        },
    );
}

/// The admin's plugin page, with its live Enable/Disable buttons, renders in no other
/// site's frame (the click-jacking setup of the probe: a same-site page on another port),
/// while a frame of that site itself renders.
#[test]
fn other_sites_cannot_frame_the_admin_pages() {
    let h = Host::start(HostSetup::new(
        String::new(),
        vec![manifest("access.fs.toml")],
    ));
    let url = h.url.clone();
    // The site frames the admin page, then, as a control, a page of its own, and counts the
    // frames' `load` events in `window.loaded`.
    let target = format!("{url}/ui/admin/plugins");
    let framing = format!(
        "<!doctype html><script>window.loaded = 0;</script>\
         <iframe id=victim width=900 height=500 src=\"{target}\" onload=\"window.loaded++\"></iframe>\
         <iframe id=control width=300 height=100 src=\"/control\" onload=\"window.loaded++\"></iframe>"
    );
    let control = "<!doctype html><p id=control>a frame of this site</p>".to_owned();
    let site = format!(
        "http://127.0.0.1:{}/",
        serve_site(vec![("/", framing), ("/control", control)])
    );
    with_browser("other_sites_cannot_frame_the_admin_pages", |b| {
        Box::pin(async move {
            login(b, &url, "admin", ADMIN_PASSWORD).await?;
            // Logged in, the page itself shows its toggles.
            b.goto(&format!("{url}/ui/admin/plugins"))
                .await
                .map_err(fail("goto plugins"))?;
            wait_css(b, "form[action$='/toggle'] button").await?;

            b.goto(&site).await.map_err(fail("goto the framing site"))?;
            let deadline = Instant::now() + WAIT;
            loop {
                let loaded = b
                    .execute("return window.loaded;", vec![])
                    .await
                    .map_err(fail("read window.loaded"))?;
                if loaded.as_u64() >= Some(2) {
                    break;
                }
                ensure(Instant::now() < deadline, "the frames did not load")?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // The control frame renders: frames work on this page.
            b.enter_frame(1)
                .await
                .map_err(fail("enter the control frame"))?;
            wait_css(b, "#control").await?;
            b.enter_parent_frame()
                .await
                .map_err(fail("leave the frame"))?;
            // The admin page's frame shows nothing of it.
            b.enter_frame(0)
                .await
                .map_err(fail("enter the victim frame"))?;
            let toggles = b
                .find_all(Locator::Css("form[action$='/toggle'], #logout"))
                .await
                .map_err(fail("look for the page's controls"))?;
            let html = b.source().await.unwrap_or_default();
            ensure(
                toggles.is_empty() && !html.contains("/ui/static/ui.js"),
                format!(
                    "the admin page rendered inside another site's frame ({} controls)",
                    toggles.len()
                ),
            )
        })
    });
}

/// The bearer of `token`'s user name by `/api/me` from the page (without its cookie), or
/// the status of the refusal.
async fn token_owner(b: &Browser, token: &str) -> Flow<String> {
    let answer = b
        .execute(
            "return fetch('/api/me', { credentials: 'omit',                headers: { Authorization: 'Bearer ' + arguments[0] } })               .then(r => r.ok ? r.json().then(j => j.user.name) : 'HTTP ' + r.status);",
            vec![json!(token)],
        )
        .await
        .map_err(fail("GET /api/me with the token"))?;
    Ok(answer.as_str().unwrap_or_default().to_owned())
}

/// A user makes an app password for a device from the nav's page, sees the WebDAV URL, their
/// user name and the password once, finds it listed without the password after coming back,
/// and revokes it (after a confirmation), which logs the device out.
#[test]
fn a_user_makes_an_app_password_sees_it_once_and_revokes_it() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("dora", false);
    let url = h.url.clone();
    with_browser(
        "a_user_makes_an_app_password_sees_it_once_and_revokes_it",
        |b| {
            Box::pin(async move {
                login(b, &url, "dora", "dora-password").await?;
                click(b, "nav a[href='/ui/app-passwords']").await?;
                wait_url(b, "/ui/app-passwords").await?;
                wait_css(b, "#no-app-passwords").await?;
                fill(b, "#label", "laptop").await?;
                click(b, "#create-app-password button[type=submit]").await?;

                let password = text(b, "#new-password").await?;
                ensure(
                    password.starts_with("wsh_") && password.len() > 20,
                    format!("an app password is shown: {password:?}"),
                )?;
                let dav_url = text(b, "#new-url").await?;
                ensure(
                    dav_url == format!("{url}/dav/"),
                    format!("the WebDAV URL is shown: {dav_url:?}"),
                )?;
                let user = text(b, "#new-user").await?;
                ensure(user == "dora", format!("the user name is shown: {user:?}"))?;
                let notice = text(b, "#new-app-password").await?;
                ensure(
                    notice.contains("will not be shown again"),
                    format!("the page says it is shown once: {notice:?}"),
                )?;
                let owner = token_owner(b, &password).await?;
                ensure(owner == "dora", format!("the password is dora's: {owner}"))?;
                no_script_errors(b, "the new app password").await?;

                // Back on the page: listed by name, the password gone for good.
                b.goto(&format!("{url}/ui/app-passwords"))
                    .await
                    .map_err(fail("goto the page again"))?;
                let label = text(b, "#app-passwords tr[data-token] th").await?;
                ensure(label == "laptop", format!("listed as {label:?}"))?;
                let used = text(b, "#app-passwords tr[data-token] td:nth-of-type(2)").await?;
                ensure(used != "never", format!("last used is shown: {used:?}"))?;
                let html = b.source().await.map_err(fail("page source"))?;
                ensure(
                    !html.contains(&password) && !html.contains("new-password"),
                    "the password is not shown again",
                )?;

                click(b, "#app-passwords tr[data-token] button.danger").await?;
                b.accept_alert()
                    .await
                    .map_err(fail("confirm the revocation"))?;
                wait_url(b, "revoked=1").await?;
                wait_css(b, "#no-app-passwords").await?;
                let notice = text(b, "#notice").await?;
                ensure(notice.contains("revoked"), format!("notice: {notice:?}"))?;
                let owner = token_owner(b, &password).await?;
                ensure(
                    owner == "HTTP 401",
                    format!("a revoked password is refused: {owner}"),
                )?;
                no_script_errors(b, "the revoked app password").await
            })
        },
    );
}

/// The routes of the UI as its router declares them (`host/src/ui/mod.rs`), with the
/// methods each answers.
fn ui_routes() -> Vec<(String, Vec<&'static str>)> {
    let source = std::fs::read_to_string(root().join("host/src/ui/mod.rs")).unwrap();
    let mut routes = Vec::new();
    for part in source.split(".route(").skip(1) {
        let Some(path) = part.split('"').nth(1) else {
            continue;
        };
        // The handlers of this route: up to the end of the router's function.
        let handlers = part.split("\n}").next().unwrap_or("");
        let mut methods = Vec::new();
        if handlers.contains("get(") {
            methods.push("GET");
        }
        if handlers.contains("post(") {
            methods.push("POST");
        }
        routes.push((path.to_owned(), methods));
    }
    routes
}

/// Every UI route, for an administrator, a user and an anonymous visitor, answers with the
/// security headers, whatever its status (pages, redirects, refusals, errors, static files);
/// so do API answers and downloads, which are sandboxed. HSTS is sent when the public URL is
/// https, and only then.
#[test]
fn every_answer_carries_the_security_headers() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("carol", false);
    h.grant("files", "carol", "r");
    h.post_bytes(
        "get_action=upload&ws=files&name=page.html",
        b"<script>alert(1)</script>".to_vec(),
    );
    // Browser sessions: the cookie only, so that a form post without its token is refused.
    let no_redirects = |mut headers: reqwest::header::HeaderMap| {
        headers.remove("x-csrf-token");
        Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let callers = [
        (
            "admin",
            no_redirects(h.session_headers("admin", ADMIN_PASSWORD)),
        ),
        (
            "carol",
            no_redirects(h.session_headers("carol", "carol-password")),
        ),
        ("anonymous", no_redirects(Default::default())),
    ];
    let routes = ui_routes();
    assert!(routes.len() >= 15, "the UI's routes were read: {routes:?}");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut check = |what: String, r: reqwest::blocking::Response, download: bool| {
        checked += 1;
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = header("content-security-policy");
        let policy_ok = if download {
            csp == "sandbox"
        } else {
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
        };
        let cache = header("cache-control");
        let cache_ok = if what.contains("/ui/static/") {
            !cache.is_empty()
        } else {
            cache == "no-store"
        };
        if !policy_ok
            || header("x-content-type-options") != "nosniff"
            || header("referrer-policy").is_empty()
            || !cache_ok
            || !header("strict-transport-security").is_empty()
        {
            failures.push(format!("{what} -> {}: {:?}", r.status(), r.headers()));
        }
    };
    for (route, methods) in &routes {
        let path = route
            .replace("{file}", "ui.js")
            .replace("/plugins/{id}", "/plugins/access.fs")
            .replace("{id}", "files");
        for (who, client) in &callers {
            for method in methods {
                let url = format!("{}{path}", h.url);
                let r = match *method {
                    // Without the form's CSRF token: refused, and nothing changes.
                    "POST" => client.post(&url).form(&[("user", "carol")]).send(),
                    _ => client.get(&url).send(),
                }
                .unwrap();
                check(format!("{who} {method} {path}"), r, false);
            }
        }
    }
    let admin = &callers[0].1;
    for path in [
        "/ui/workspaces/nothing",
        "/ui/no-such-page",
        "/api/me",
        "/api/workspaces",
        "/?get_action=ls&ws=files",
        "/?get_action=nope",
        "/healthz",
    ] {
        let r = admin.get(format!("{}{path}", h.url)).send().unwrap();
        check(format!("admin GET {path}"), r, false);
    }
    let r = admin
        .get(h.action_url("get_action=download&ws=files&file=page.html"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    check("download".into(), r, true);
    println!("security headers: {checked} answers checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let https = Host::start(HostSetup::new(
        "public_url = \"https://files.example.org\"\n".into(),
        vec![manifest("access.fs.toml")],
    ));
    for path in ["/ui/login", "/healthz"] {
        let r = Client::new()
            .get(format!("{}{path}", https.url))
            .send()
            .unwrap();
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("max-age=31536000".to_owned()),
            "{path}"
        );
    }
}

/// access.sftp through the form its manifest generates: the fingerprint field refuses what
/// is not a `SHA256:` fingerprint next to the field, the password field is a password input,
/// verify shows the server's fingerprint, and a file goes up to and comes back from a real
/// sshd through the file browser.
#[test]
fn admin_creates_an_sftp_workspace_from_its_form() {
    let sshd = wshost_tests::sshd::Sshd::start();
    let h = Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.sftp\"]\n".into(),
        vec![manifest("access.sftp.toml")],
    ));
    let url = h.url.clone();
    let upload_dir = tempfile::tempdir().unwrap();
    let upload = upload_dir.path().join("notes.bin");
    let bytes = pattern_chunk(11, 0, 300 * 1024);
    std::fs::write(&upload, &bytes).unwrap();
    let (port, fingerprint) = (sshd.port.to_string(), sshd.fingerprint.clone());
    let (folder, password) = (sshd.root.display().to_string(), sshd.password.clone());
    let on_server = sshd.root.join("notes.bin");

    with_browser("admin_creates_an_sftp_workspace_from_its_form", |b| {
        Box::pin(async move {
            login(b, &url, "admin", ADMIN_PASSWORD).await?;
            b.goto(&format!("{url}/ui/admin/workspaces/new"))
                .await
                .map_err(fail("goto new"))?;
            click(b, "a[data-driver='access.sftp']").await?;
            wait_css(b, "#workspace-form").await?;
            for field in ["HOST", "USER", "HOST_KEY"] {
                let marks = b
                    .find_all(Locator::Css(&format!("[data-field='{field}'] .mandatory")))
                    .await
                    .map_err(fail("mandatory mark"))?;
                ensure(marks.len() == 1, format!("{field} is marked mandatory"))?;
            }
            let help = text(b, "[data-field='HOST_KEY']").await?;
            ensure(
                help.contains("ssh-keygen -lf"),
                format!("the fingerprint field says how to read it: {help:?}"),
            )?;
            let kind = wait_css(b, "#f-PASSWORD")
                .await?
                .attr("type")
                .await
                .map_err(fail("type"))?;
            ensure(
                kind.as_deref() == Some("password"),
                format!("PASSWORD is a {kind:?} input"),
            )?;
            fill(b, "#f-label", "Server files").await?;
            fill(b, "#f-id", "server").await?;
            fill(b, "#f-HOST", "127.0.0.1").await?;
            fill(b, "#f-PORT", &port).await?;
            fill(b, "#f-USER", wshost_tests::sshd::ACCOUNT).await?;
            fill(b, "#f-PASSWORD", &password).await?;
            fill(b, "#f-ROOT", &folder).await?;
            fill(b, "#f-HOST_KEY", "ab:cd:ef (an MD5 fingerprint)").await?;
            click(b, "#save").await?;
            wait_text(b, "[data-field='HOST_KEY'] .field-error", |t| {
                t.contains("pattern")
            })
            .await?;
            ensure(
                value(b, "#f-HOST").await? == "127.0.0.1",
                "the typed HOST is kept",
            )?;
            fill(b, "#f-HOST_KEY", &fingerprint).await?;
            // A write-only field comes back empty after a refused submission.
            fill(b, "#f-PASSWORD", &password).await?;
            click(b, "#save").await?;
            wait_url(b, "/ui/admin/workspaces/server?created=checked").await?;

            click(b, "#verify").await?;
            let verify = wait_text(b, "#verify-result", |t| !t.is_empty()).await?;
            ensure(
                verify.starts_with("OK") && verify.contains(&fingerprint),
                format!("verify answered {verify:?}"),
            )?;
            no_script_errors(b, "the admin pages").await?;

            b.goto(&format!("{url}/ui/workspaces/server"))
                .await
                .map_err(fail("goto the workspace"))?;
            wait_css(b, "#empty").await?;
            let link = upload_in_page(b, &upload).await?;
            ensure(
                std::fs::read(&on_server).ok() == Some(bytes.clone()),
                "the file is on the server",
            )?;
            let got = download_in_page(b, &link).await?;
            ensure(
                got == bytes,
                format!("downloaded {} bytes, uploaded {}", got.len(), bytes.len()),
            )?;
            no_script_errors(b, "the file browser").await
        })
    });
}

/// access.s3 through the form its manifest generates: the bucket field refuses a name S3
/// would refuse next to the field, the secret is a password input, verify names the bucket,
/// and a file goes up to and comes back from a real SeaweedFS through the file browser.
#[test]
fn admin_creates_an_s3_workspace_from_its_form() {
    let weed = wshost_tests::s3::Weed::start();
    let h = Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.s3\"]\n".into(),
        vec![manifest("access.s3.toml")],
    ));
    let url = h.url.clone();
    let upload_dir = tempfile::tempdir().unwrap();
    let upload = upload_dir.path().join("notes.bin");
    let bytes = pattern_chunk(13, 0, 300 * 1024);
    std::fs::write(&upload, &bytes).unwrap();
    let (endpoint, key, secret) = (
        weed.endpoint.clone(),
        weed.access_key.clone(),
        weed.secret_key.clone(),
    );
    let weed = std::sync::Arc::new(weed);
    let server = weed.clone();

    with_browser("admin_creates_an_s3_workspace_from_its_form", |b| {
        Box::pin(async move {
            login(b, &url, "admin", ADMIN_PASSWORD).await?;
            b.goto(&format!("{url}/ui/admin/workspaces/new"))
                .await
                .map_err(fail("goto new"))?;
            click(b, "a[data-driver='access.s3']").await?;
            wait_css(b, "#workspace-form").await?;
            for field in ["BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"] {
                let marks = b
                    .find_all(Locator::Css(&format!("[data-field='{field}'] .mandatory")))
                    .await
                    .map_err(fail("mandatory mark"))?;
                ensure(marks.len() == 1, format!("{field} is marked mandatory"))?;
            }
            let kind = wait_css(b, "#f-SECRET_ACCESS_KEY")
                .await?
                .attr("type")
                .await
                .map_err(fail("type"))?;
            ensure(
                kind.as_deref() == Some("password"),
                format!("SECRET_ACCESS_KEY is a {kind:?} input"),
            )?;
            fill(b, "#f-label", "Bucket files").await?;
            fill(b, "#f-id", "bucket").await?;
            fill(b, "#f-ENDPOINT", &endpoint).await?;
            fill(b, "#f-BUCKET", "Not_A_Bucket").await?;
            fill(b, "#f-ACCESS_KEY_ID", &key).await?;
            fill(b, "#f-SECRET_ACCESS_KEY", &secret).await?;
            click(b, "#f-PATH_STYLE").await?;
            click(b, "#save").await?;
            wait_text(b, "[data-field='BUCKET'] .field-error", |t| {
                t.contains("pattern")
            })
            .await?;
            ensure(
                value(b, "#f-ENDPOINT").await? == endpoint,
                "the typed ENDPOINT is kept",
            )?;
            fill(b, "#f-BUCKET", wshost_tests::s3::BUCKET).await?;
            // A write-only field comes back empty after a refused submission.
            fill(b, "#f-SECRET_ACCESS_KEY", &secret).await?;
            click(b, "#save").await?;
            wait_url(b, "/ui/admin/workspaces/bucket?created=checked").await?;

            click(b, "#verify").await?;
            let verify = wait_text(b, "#verify-result", |t| !t.is_empty()).await?;
            ensure(
                verify.starts_with("OK") && verify.contains(wshost_tests::s3::BUCKET),
                format!("verify answered {verify:?}"),
            )?;
            no_script_errors(b, "the admin pages").await?;

            b.goto(&format!("{url}/ui/workspaces/bucket"))
                .await
                .map_err(fail("goto the workspace"))?;
            wait_css(b, "#empty").await?;
            let link = upload_in_page(b, &upload).await?;
            ensure(
                server.get("notes.bin") == bytes,
                "boto3 reads the file from the server",
            )?;
            let got = download_in_page(b, &link).await?;
            ensure(
                got == bytes,
                format!("downloaded {} bytes, uploaded {}", got.len(), bytes.len()),
            )?;
            no_script_errors(b, "the file browser").await
        })
    });
    drop(weed);
}

/// Templates through the UI (issue 23): the admin makes an access.fs template whose folder
/// each user gives (`ROOT` ticked "Each user fills this in") and whose `CREATE = true` is
/// fixed; a user's form shows the folder and nothing of the fixed param, refuses a bad
/// folder next to its field, and makes a workspace the user lands in and uploads to (its
/// folder created by the fixed `CREATE`); another user sees neither it nor its delete
/// button; the template cannot be deleted while in use; its owner deletes it, then the admin
/// deletes the template.
#[test]
fn a_user_makes_a_workspace_from_a_template_and_deletes_it() {
    let h = Host::start(HostSetup::new(
        String::new(),
        vec![manifest("access.fs.toml")],
    ));
    h.add_user("alice", false);
    h.add_user("bob", false);
    let url = h.url.clone();
    let folder = h.dir.path().join("alice-own/deep");
    let upload_dir = tempfile::tempdir().unwrap();
    let upload = upload_dir.path().join("notes.txt");
    std::fs::write(&upload, b"mine").unwrap();

    with_browser(
        "a_user_makes_a_workspace_from_a_template_and_deletes_it",
        |b| {
            Box::pin(async move {
                login(b, &url, "admin", ADMIN_PASSWORD).await?;
                // The workspace list marks "My files": every user, a folder each.
                b.goto(&format!("{url}/ui/admin/workspaces"))
                    .await
                    .map_err(fail("goto workspaces"))?;
                let row = text(b, "#workspaces tr[data-ws='my-files']").await?;
                ensure(
                    row.contains("every user: rw") && row.contains("personal"),
                    format!("my-files row {row:?}"),
                )?;

                // The template editor: the driver, then its form with a box per param.
                click(b, "nav a[href='/ui/admin/templates']").await?;
                click(b, "#new-template").await?;
                click(b, "a[data-driver='access.fs']").await?;
                wait_css(b, "#template-form").await?;
                fill(b, "#f-label", "Own folder").await?;
                fill(b, "#f-id", "own").await?;
                click(b, "#u-ROOT").await?;
                click(b, "details summary").await?;
                click(b, "#f-CREATE").await?;
                fill(b, "#f-max_per_user", "2").await?;
                click(b, "#save").await?;
                wait_url(b, "/ui/admin/templates/own?created=1").await?;
                ensure(
                    text(b, "#notice").await?.contains("created"),
                    "a created notice",
                )?;
                let ticked = |css: &'static str| async move {
                    wait_css(b, css)
                        .await?
                        .is_selected()
                        .await
                        .map_err(fail(css))
                };
                ensure(ticked("#u-ROOT").await?, "ROOT is the users'")?;
                ensure(!ticked("#u-CREATE").await?, "CREATE is fixed")?;
                ensure(ticked("#f-CREATE").await?, "CREATE is fixed to true")?;
                ensure(value(b, "#f-max_per_user").await? == "2", "the limit")?;
                b.goto(&format!("{url}/ui/admin/templates"))
                    .await
                    .map_err(fail("goto templates"))?;
                let row = text(b, "#templates tr[data-template='own']").await?;
                ensure(
                    row.contains("Folder") && row.contains("at most 2"),
                    format!("template row {row:?}"),
                )?;
                no_script_errors(b, "the template editor").await?;
                click(b, "#logout").await?;
                wait_url(b, "/ui/login").await?;

                // Alice: "My files" is hers; the template's form shows only the folder.
                login(b, &url, "alice", "alice-password").await?;
                wait_css(b, "#workspaces a[data-ws='my-files']").await?;
                click(b, "#templates a[data-template='own']").await?;
                wait_url(b, "/ui/templates/own/new").await?;
                wait_css(b, "#own-form #f-ROOT").await?;
                for css in ["[name='p.CREATE']", "[data-field='CREATE']", "#f-CREATE"] {
                    let found = b.find_all(Locator::Css(css)).await.map_err(fail(css))?;
                    ensure(found.is_empty(), format!("the fixed param shows as {css}"))?;
                }
                let html = b.source().await.map_err(fail("page source"))?;
                ensure(
                    !html.contains("CREATE") && !html.contains("Create the folder"),
                    "nothing of the fixed param is in the page",
                )?;
                fill(b, "#f-label", "Alice's own").await?;
                fill(b, "#f-id", "alice-own").await?;
                fill(b, "#f-ROOT", "relative/folder").await?;
                click(b, "#save").await?;
                wait_text(b, "[data-field='ROOT'] .field-error", |t| {
                    t.contains("pattern")
                })
                .await?;
                ensure(
                    value(b, "#f-label").await? == "Alice's own",
                    "the label is kept",
                )?;
                ensure(
                    value(b, "#f-ROOT").await? == "relative/folder",
                    "the typed folder is kept",
                )?;
                fill(b, "#f-ROOT", &folder.display().to_string()).await?;
                click(b, "#save").await?;
                wait_url(b, "/ui/workspaces/alice-own").await?;
                wait_css(b, "#empty").await?;
                ensure(folder.is_dir(), "the fixed CREATE made the folder")?;
                upload_in_page(b, &upload).await?;
                ensure(
                    folder.join("notes.txt").is_file(),
                    "the upload is in her folder",
                )?;
                click(b, "nav a[href='/ui/']").await?;
                let card = text(b, "#workspaces li[data-card='alice-own']").await?;
                ensure(
                    card.contains("from the template own"),
                    format!("her card {card:?}"),
                )?;
                wait_css(b, "#delete-alice-own").await?;
                no_script_errors(b, "the user's template form").await?;
                click(b, "#logout").await?;
                wait_url(b, "/ui/login").await?;

                // Bob sees neither her workspace nor a delete button, and cannot open it.
                login(b, &url, "bob", "bob-password").await?;
                wait_css(b, "#workspaces a[data-ws='my-files']").await?;
                wait_css(b, "#templates a[data-template='own']").await?;
                for css in ["a[data-ws='alice-own']", "form.delete-own"] {
                    let found = b.find_all(Locator::Css(css)).await.map_err(fail(css))?;
                    ensure(found.is_empty(), format!("bob sees {css}"))?;
                }
                b.goto(&format!("{url}/ui/workspaces/alice-own"))
                    .await
                    .map_err(fail("goto alice-own"))?;
                wait_css(b, "#page-error").await?;
                b.goto(&format!("{url}/ui/"))
                    .await
                    .map_err(fail("goto home"))?;
                click(b, "#logout").await?;
                wait_url(b, "/ui/login").await?;

                // The admin sees whose it is; the template in use is not deleted.
                login(b, &url, "admin", ADMIN_PASSWORD).await?;
                b.goto(&format!("{url}/ui/admin/workspaces"))
                    .await
                    .map_err(fail("goto workspaces"))?;
                let row = text(b, "#workspaces tr[data-ws='alice-own']").await?;
                ensure(
                    row.contains("owned by alice") && row.contains("own"),
                    format!("alice-own row {row:?}"),
                )?;
                b.goto(&format!("{url}/ui/admin/templates/own"))
                    .await
                    .map_err(fail("goto template"))?;
                wait_css(b, "#made-workspaces a[data-ws='alice-own']").await?;
                click(b, "#delete-template").await?;
                b.accept_alert().await.map_err(fail("confirm"))?;
                wait_css(b, "#problem").await?;
                click(b, "#logout").await?;
                wait_url(b, "/ui/login").await?;

                // Alice deletes her workspace (its files stay).
                login(b, &url, "alice", "alice-password").await?;
                click(b, "#delete-alice-own").await?;
                b.accept_alert().await.map_err(fail("confirm"))?;
                wait_text(b, "#notice", |t| t.contains("deleted")).await?;
                wait_gone(b, "a[data-ws='alice-own']").await?;
                ensure(folder.join("notes.txt").is_file(), "her files stay")?;
                click(b, "#logout").await?;
                wait_url(b, "/ui/login").await?;

                // Now unused, the template goes.
                login(b, &url, "admin", ADMIN_PASSWORD).await?;
                b.goto(&format!("{url}/ui/admin/templates/own"))
                    .await
                    .map_err(fail("goto template"))?;
                wait_css(b, "#none-made").await?;
                click(b, "#delete-template").await?;
                b.accept_alert().await.map_err(fail("confirm"))?;
                wait_url(b, "/ui/admin/templates?deleted=own").await?;
                wait_css(b, "#no-templates").await?;
                no_script_errors(b, "the admin pages").await
            })
        },
    );
}
