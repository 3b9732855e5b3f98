//! `fake-dropbox`: the fake Dropbox of the integration tests as a server a person can run, to
//! try the `access.dropbox` driver's whole flow without a Dropbox app.

use std::net::SocketAddr;

use clap::Parser;
use wshost_tests::fake_dropbox::{FakeDropbox, Options};

/// A fake Dropbox API v2 server (OAuth2 pages and token endpoint, files and users routes).
#[derive(Parser)]
#[command(name = "fake-dropbox")]
struct Cli {
    /// Address to listen on (www, api and content roles share it).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// Approve every authorization at once instead of showing the Approve/Deny page.
    #[arg(long)]
    auto_approve: bool,
    /// The one app key to accept (any when omitted).
    #[arg(long)]
    client_id: Option<String>,
    /// The app secret to accept (any when omitted).
    #[arg(long)]
    client_secret: Option<String>,
    /// A registered redirect URI (repeatable; any when omitted).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 14_400)]
    token_ttl: u64,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let options = Options {
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        redirect_uris: cli.redirect_uris,
        auto_approve: cli.auto_approve,
        access_token_ttl: std::time::Duration::from_secs(cli.token_ttl),
        ..Options::default()
    };
    let fake = match FakeDropbox::start_on(cli.listen, options) {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake-dropbox: cannot listen on {}: {e}", cli.listen);
            std::process::exit(1);
        }
    };
    println!("fake Dropbox listening on {}", fake.url);
    println!("  AUTH_URL    = {}/oauth2/authorize", fake.url);
    println!("  TOKEN_URL   = {}/oauth2/token", fake.url);
    println!("  API_URL     = {}", fake.url);
    println!("  CONTENT_URL = {}", fake.url);
    println!(
        "  faults: POST {}/__fake/faults, counters: GET {}/__fake/counters",
        fake.url, fake.url
    );
    loop {
        std::thread::park();
    }
}
