//! A real browser for the tests: Debian's `chromium`, headless, driven
//! through `chromedriver` (WebDriver) by `fantoccini`, against nodes served
//! in-process on loopback. `make test` installs both packages when missing;
//! nothing is downloaded at run time.
//!
//! Without `chromedriver` the browser tests fail in CI (`CI=true`) and are a
//! loud skip elsewhere. Screenshots go to `$CARGO_TARGET_DIR/screenshots`
//! (else `target/screenshots`); [`Browser::assert_accessible`] runs axe-core
//! (vendored under `tests/browser/vendor/axe-core/`, MPL-2.0) for the WCAG 2
//! A and AA rules.
#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// axe-core 4.14.1 (npm), injected into the page under test.
const AXE: &str = include_str!("vendor/axe-core/axe.min.js");

/// How long to wait for an element or for chromedriver.
pub const WAIT: Duration = Duration::from_secs(20);

/// A headless Chromium session and the chromedriver that runs it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
}

/// Where `chromedriver` is, or `None` (a loud skip, or a failure in CI).
fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|p| p.is_file())
    });
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "chromedriver not found: CI needs Debian's chromium and chromium-driver (`make test` installs them)"
        );
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!!\n!!! SKIPPED: chromedriver not found (apt-get install chromium chromium-driver, or run `make test`); the browser tests checked nothing\n!!!!!!!!!!"
    );
    None
}

/// A free loopback port (free when asked; chromedriver binds it next).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

/// Waits until chromedriver answers `/status` as ready.
async fn wait_ready(url: &str) {
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/status")).await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == json!(true)
        {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "chromedriver did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn capabilities(javascript: bool) -> serde_json::Map<String, Value> {
    let mut options = json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,1024", "--lang=en", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
        ],
    });
    if std::path::Path::new("/usr/bin/chromium").is_file() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    if !javascript {
        options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    caps
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium
    /// session; `None` when chromedriver is missing outside CI.
    pub async fn start() -> Option<Self> {
        Self::start_with(true).await
    }

    /// [`Self::start`], with JavaScript on or off.
    pub async fn start_with(javascript: bool) -> Option<Self> {
        let program = chromedriver()?;
        let port = free_port();
        let driver = Command::new(program)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&url).await;
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities(javascript))
            .connect(&url)
            .await
            .expect("a Chromium session");
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(30)),
                None,
            ))
            .await
            .expect("timeouts");
        Some(Self { client, driver })
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Waits for the first element matching the CSS `selector`.
    pub async fn wait_for(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no {selector} within {WAIT:?}: {e}"))
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The trimmed text of the first element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
            json!(selector)
        );
        match self.eval(&script).await {
            Value::String(s) => s,
            other => panic!("no {selector}: {other}"),
        }
    }

    /// Saves a PNG of the window as `{dir}/{name}.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshots folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// axe-core's WCAG 2.0/2.1 A and AA violations on the page, outside the
    /// CSS selectors of `exclude`, one text per violation.
    pub async fn violations(&self, exclude: &[&str]) -> Vec<String> {
        self.eval(&format!("{AXE}\nreturn typeof axe;")).await;
        let script = r#"
            const [exclude, done] = arguments;
            const context = { exclude: exclude.map(s => [s]) };
            const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
            axe.run(exclude.length ? context : document, { runOnly: { type: "tag", values: tags } })
              .then(r => done(r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary) }))))
              .catch(e => done([{ id: "axe-error", impact: "error", help: String(e), nodes: [] }]));
        "#;
        let found = self
            .client
            .execute_async(script, vec![json!(exclude)])
            .await
            .expect("axe.run");
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                let nodes: Vec<&str> = v["nodes"]
                    .as_array()
                    .map(|n| n.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "- {} ({}): {}\n    {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    nodes.join("\n    ")
                )
            })
            .collect()
    }

    /// Runs axe-core's WCAG 2 A and AA rules on the page, except inside the
    /// CSS selectors of `exclude`; fails listing every violation.
    pub async fn assert_accessible_except(&self, page_name: &str, exclude: &[&str]) {
        let violations = self.violations(exclude).await;
        assert!(
            violations.is_empty(),
            "{page_name}: {} accessibility violation(s) (axe-core, WCAG 2.1 A/AA):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    /// [`Self::assert_accessible_except`] for the whole page.
    pub async fn assert_accessible(&self, page_name: &str) {
        self.assert_accessible_except(page_name, &[]).await;
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
