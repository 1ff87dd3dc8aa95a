//! How a harvest shows its progress: a bar per peer in a terminal (indicatif),
//! plain log lines otherwise, nothing in the server.

use crate::PeerReport;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

/// Told about each peer's progress during a round.
pub trait Progress: Send + Sync {
    /// A peer's harvest starts.
    fn start(&self, _peer: &str) {}
    /// A page of the peer was read and stored.
    fn page(&self, _report: &PeerReport) {}
    /// The peer's harvest ended.
    fn finish(&self, _report: &PeerReport) {}
}

/// Members of unknown origin, apart from refusals: information.
fn not_harvested(r: &PeerReport) -> String {
    if r.unknown_origin == 0 {
        String::new()
    } else {
        format!(
            ", {} not harvested (origin not in peers.toml)",
            r.unknown_origin
        )
    }
}

/// Shows nothing (the server logs a line per peer and round).
pub struct Quiet;

impl Progress for Quiet {}

/// Plain lines on standard error, one per page and per peer.
pub struct Lines;

impl Progress for Lines {
    fn start(&self, peer: &str) {
        eprintln!("{peer}: harvesting");
    }

    fn page(&self, r: &PeerReport) {
        eprintln!(
            "{}: page {} read, {} accepted, {} refused{}",
            r.peer,
            r.pages,
            r.accepted,
            r.refused_total(),
            not_harvested(r)
        );
    }

    fn finish(&self, r: &PeerReport) {
        match &r.error {
            Some(e) => eprintln!("{}: stopped: {e}", r.peer),
            None => eprintln!("{}: done", r.peer),
        }
    }
}

/// A progress bar per peer.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn bar(&self, peer: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(peer.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<12} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(peer.to_owned());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            })
            .clone()
    }

    fn message(r: &PeerReport) -> String {
        format!(
            "{} accepted, {} known, {} refused{}, {} pages",
            r.accepted,
            r.known,
            r.refused_total(),
            not_harvested(r),
            r.pages
        )
    }
}

impl Progress for Bars {
    fn start(&self, peer: &str) {
        self.bar(peer).set_message("connecting");
    }

    fn page(&self, r: &PeerReport) {
        self.bar(&r.peer).set_message(Self::message(r));
    }

    fn finish(&self, r: &PeerReport) {
        let bar = self.bar(&r.peer);
        match &r.error {
            Some(e) => bar.finish_with_message(format!("{} — stopped: {e}", Self::message(r))),
            None => bar.finish_with_message(format!("{} — done", Self::message(r))),
        }
    }
}

/// Bars when standard error is a terminal, plain lines otherwise.
pub fn progress_for_terminal() -> std::sync::Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        std::sync::Arc::new(Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        })
    } else {
        std::sync::Arc::new(Lines)
    }
}
