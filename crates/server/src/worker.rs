//! SPARQL queries in worker processes: `ccis serve` runs each query in a child
//! (`ccis __sparql-worker DIR`) that reads the job from its stdin, opens a
//! snapshot of the store read-only and writes one header line and the
//! serialized results to its stdout. Snapshots are RocksDB checkpoints (hard
//! links) in `DIR/sparql-snapshots/`, taken again only when the store's files
//! changed: a worker never sees a file vanish under it, as it could beside a
//! writer that compacts. The child's address space and CPU time are limited
//! (`RLIMIT_AS`, `RLIMIT_CPU`), it dies with the server (`PR_SET_PDEATHSIG`),
//! and the server kills it at the query's deadline: a stopped query's work and
//! memory go back to the system at once, whatever the evaluator was doing (a
//! sort, a join, a CONSTRUCT), and a stack overflow ends the child only.

use crate::eval::{self, Answer, EVALUATION_STACK, Failure};
use crate::service::PeerServices;
use axum::http::StatusCode;
use ccis_node::config::NodeConfig;
use ccis_store::NodeStore;
use oxigraph::sparql::CancellationToken;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// Scheduling priority of workers (`nice`), below the server's.
const WORKER_NICENESS: libc::c_int = 10;
/// The hidden subcommand that runs a worker.
pub const WORKER_COMMAND: &str = "__sparql-worker";
/// Most bytes of a worker's stderr kept to explain its death.
const STDERR_KEPT: u64 = 16 * 1024;
/// Most time a worker may take to start and open the store, before its query's time limit runs.
pub const WORKER_START: Duration = Duration::from_secs(30);
/// The line a worker writes once the store is open and its query's time starts.
const READY: &[u8] = b"+\n";

/// What a worker is asked.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    store: PathBuf,
    query: String,
    accept: Option<String>,
    service_timeout_ms: u64,
}

/// The first line a worker writes: a success (with the body's media type) or a failure.
#[derive(Debug, Serialize, Deserialize)]
enum Header {
    Answer { media_type: String },
    Failure(Failure),
}

/// How the server runs workers.
pub struct Workers {
    /// The `ccis` executable.
    program: PathBuf,
    /// The node directory the workers read the configuration from.
    dir: PathBuf,
    /// Address space of a worker, in bytes.
    memory_bytes: u64,
    /// Most result bytes read from a worker.
    max_result_bytes: u64,
    snapshots: Snapshots,
}

impl Workers {
    /// Workers running `program` on the node in `dir` whose store is `store`.
    pub fn new(
        program: PathBuf,
        dir: &Path,
        store: NodeStore,
        memory_bytes: u64,
        max_result_bytes: u64,
    ) -> Self {
        Self {
            program,
            dir: dir.to_owned(),
            memory_bytes,
            max_result_bytes,
            snapshots: Snapshots::new(dir, store),
        }
    }
}

/// A checkpoint of the store, removed when the last query using it ends.
#[derive(Debug)]
struct Snapshot {
    path: PathBuf,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Names, sizes and times of the files of the store's directory: when it
/// changes, something was written (WAL, manifest, tables).
type Fingerprint = Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut print: Fingerprint = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let meta = e.metadata().ok()?;
                    Some((e.file_name(), meta.len(), meta.modified().ok()))
                })
                .collect()
        })
        .unwrap_or_default();
    print.sort();
    print
}

/// The snapshots of a store.
struct Snapshots {
    root: PathBuf,
    store_dir: PathBuf,
    store: NodeStore,
    next: std::sync::atomic::AtomicU64,
    current: tokio::sync::Mutex<Option<(Fingerprint, std::sync::Arc<Snapshot>)>>,
}

impl Snapshots {
    fn new(dir: &Path, store: NodeStore) -> Self {
        let root = dir.join("sparql-snapshots");
        // Left by a server that did not stop cleanly.
        let _ = std::fs::remove_dir_all(&root);
        Self {
            root,
            store_dir: ccis_node::config::NodeDir::new(dir).store(),
            store,
            next: std::sync::atomic::AtomicU64::new(0),
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The newest snapshot, taken now if the store changed since the last one.
    async fn current(&self) -> Result<std::sync::Arc<Snapshot>, Failure> {
        let mut current = self.current.lock().await;
        let store_dir = self.store_dir.clone();
        let print = tokio::task::spawn_blocking(move || fingerprint(&store_dir))
            .await
            .map_err(|e| internal(e.to_string()))?;
        if let Some((taken, snapshot)) = &*current
            && *taken == print
        {
            return Ok(snapshot.clone());
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let snapshot = Snapshot {
            path: self.root.join(n.to_string()),
        };
        let (store, root, path) = (self.store.clone(), self.root.clone(), snapshot.path.clone());
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
            store.oxigraph().backup(&path).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(format!("cannot snapshot the store for SPARQL: {e}")))?;
        // The fingerprint from before: if the snapshot itself changed the
        // files (a flush), the next query takes one more, unchanged then.
        let snapshot = std::sync::Arc::new(snapshot);
        *current = Some((print, snapshot.clone()));
        Ok(snapshot)
    }
}

/// Runs `query` in a worker. The time limit counts from when the worker has
/// opened the store (at most [`WORKER_START`] after it was started). Returns
/// `None` when the limit passed: the worker is then killed and reaped.
pub async fn run(
    workers: &Workers,
    query: String,
    accept: Option<String>,
    limit: Duration,
) -> Option<Result<Answer, Failure>> {
    let snapshot = match workers.snapshots.current().await {
        Ok(snapshot) => snapshot,
        Err(f) => return Some(Err(f)),
    };
    let job = Job {
        store: snapshot.path.clone(),
        query,
        accept,
        service_timeout_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
    };
    let mut child = match spawn(workers, limit) {
        Ok(child) => child,
        Err(e) => return Some(Err(internal(format!("cannot start a SPARQL worker: {e}")))),
    };
    let outcome = talk(&mut child, &job, workers, limit).await;
    if !matches!(outcome, Some(Ok(_))) {
        // SIGKILL, then reap: when this returns, the worker's memory is free.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    drop(snapshot);
    outcome
}

fn internal(detail: String) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
}

fn spawn(workers: &Workers, deadline: Duration) -> std::io::Result<tokio::process::Child> {
    let mut command = tokio::process::Command::new(&workers.program);
    command
        .arg(WORKER_COMMAND)
        .arg(&workers.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        // Under RLIMIT_AS every glibc malloc arena (one per thread that
        // allocates, RocksDB's among them) reserves 64 MiB of address space:
        // with two, what a query may use does not depend on how many
        // threads happened to allocate.
        .env("MALLOC_ARENA_MAX", "2")
        .kill_on_drop(true);
    let memory = workers.memory_bytes;
    // The CPU limit backs up the server's own kill at the deadline.
    let cpu = deadline.as_secs().saturating_add(5);
    // SAFETY: only async-signal-safe calls (setrlimit, prctl) between fork and exec.
    unsafe {
        command.pre_exec(move || limit_child(memory, cpu));
    }
    command.spawn()
}

/// In the child, before exec: its limits, and death with its parent.
fn limit_child(memory: u64, cpu_secs: u64) -> std::io::Result<()> {
    set_limit(libc::RLIMIT_AS, memory)?;
    set_limit(libc::RLIMIT_CPU, cpu_secs)?;
    // Below the server's own threads: /node and /feed go first on a busy CPU.
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WORKER_NICENESS) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Lowers a resource limit (soft and hard) to `value`.
fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: `limit` is a valid rlimit for the call's duration.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sends the job, reads the answer and waits for the worker; `None` past the limit.
async fn talk(
    child: &mut tokio::process::Child,
    job: &Job,
    workers: &Workers,
    limit: Duration,
) -> Option<Result<Answer, Failure>> {
    let failed = |e: &dyn std::fmt::Display| internal(format!("SPARQL worker: {e}"));
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Some(Err(failed(&"no pipes")));
    };
    let errors = tokio::spawn(keep_stderr(stderr));
    let mut stdout = tokio::io::BufReader::new(stdout);
    let mut first = Vec::new();
    let started = tokio::time::timeout(WORKER_START, async {
        let bytes = serde_json::to_vec(job).map_err(|e| failed(&e))?;
        // A worker that died early closes the pipe: its exit status tells why.
        let _ = stdin.write_all(&bytes).await;
        drop(stdin);
        (&mut stdout)
            .take(64 * 1024)
            .read_until(b'\n', &mut first)
            .await
            .map_err(|e| failed(&e))
    })
    .await;
    match started {
        Err(_) => {
            return Some(Err(failed(&format!(
                "not ready within {} s",
                WORKER_START.as_secs()
            ))));
        }
        Ok(Err(f)) => return Some(Err(f)),
        Ok(Ok(_)) => {}
    }
    let mut out = Vec::new();
    if first == READY {
        let rest = finish(child, &mut stdout, &mut out, workers);
        match tokio::time::timeout(limit, rest).await {
            Err(_) => return None,
            Ok(Err(f)) => return Some(Err(f)),
            Ok(Ok(status)) if !status.success() => {
                let stderr = errors.await.unwrap_or_default();
                return Some(Err(death(status, &stderr, workers)));
            }
            Ok(Ok(_)) => {}
        }
    } else if first.is_empty() {
        let status = child.wait().await.map_err(|e| failed(&e));
        let stderr = errors.await.unwrap_or_default();
        return Some(status.and_then(|status| Err(death(status, &stderr, workers))));
    } else {
        out = first;
        let _ = child.wait().await;
    }
    Some(read_answer(out))
}

/// Reads the rest of the worker's answer (within `max_result_bytes`) and its exit status.
async fn finish(
    child: &mut tokio::process::Child,
    stdout: &mut tokio::io::BufReader<tokio::process::ChildStdout>,
    out: &mut Vec<u8>,
    workers: &Workers,
) -> Result<std::process::ExitStatus, Failure> {
    let limit = workers.max_result_bytes.saturating_add(64 * 1024);
    stdout
        .take(limit.saturating_add(1))
        .read_to_end(out)
        .await
        .map_err(|e| internal(format!("SPARQL worker: {e}")))?;
    if out.len() as u64 > limit {
        return Err(too_large(workers.max_result_bytes));
    }
    child
        .wait()
        .await
        .map_err(|e| internal(format!("SPARQL worker: {e}")))
}

/// The first [`STDERR_KEPT`] bytes of the worker's stderr (the rest is read and dropped).
async fn keep_stderr(mut stderr: tokio::process::ChildStderr) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let room = usize::try_from(STDERR_KEPT)
            .unwrap_or(usize::MAX)
            .saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

fn too_large(limit: u64) -> Failure {
    Failure::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "result-too-large",
        format!("the results are larger than the limit of {limit} bytes (max_result_bytes)"),
    )
}

/// Why a worker ended without an answer.
fn death(status: std::process::ExitStatus, stderr: &str, workers: &Workers) -> Failure {
    use std::os::unix::process::ExitStatusExt;
    if stderr.contains("overflowed its stack") {
        return Failure::new(
            StatusCode::BAD_REQUEST,
            "query-too-complex",
            "the query is too deeply structured to evaluate (the evaluator ran out of stack)",
        );
    }
    // Under RLIMIT_AS, an allocation (Rust), a thread or a `new` (RocksDB's
    // C++: `std::bad_alloc`, `std::system_error`, hence `terminate`) fails.
    let memory = [
        "memory allocation",
        "out of memory",
        "bad_alloc",
        "terminate called",
        "Cannot allocate memory",
    ];
    if memory.iter().any(|m| stderr.contains(m)) {
        return Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "memory-limit",
            format!(
                "the query needed more than the memory limit of {} MiB (query_memory_mib) and was stopped",
                workers.memory_bytes / (1024 * 1024)
            ),
        );
    }
    let last = stderr.lines().last().unwrap_or("").trim();
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "worker-died",
        format!(
            "the query's worker ended without an answer ({}{}): {last}",
            status.signal().map_or_else(
                || format!("exit {:?}", status.code()),
                |s| format!("signal {s}")
            ),
            if status.core_dumped() { ", core" } else { "" }
        ),
    )
}

fn read_answer(out: Vec<u8>) -> Result<Answer, Failure> {
    let broken = || {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the SPARQL worker's answer is malformed",
        )
    };
    let end = out.iter().position(|b| *b == b'\n').ok_or_else(broken)?;
    let header: Header = serde_json::from_slice(&out[..end]).map_err(|_| broken())?;
    match header {
        Header::Answer { media_type } => Ok(Answer {
            media_type,
            body: out[end + 1..].to_vec(),
        }),
        Header::Failure(f) => Err(f),
    }
}

/// The worker's `main`: `ccis __sparql-worker DIR`, the job on stdin.
pub fn main(dir: &Path) -> ExitCode {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return ExitCode::FAILURE;
    }
    let dir = dir.to_owned();
    let evaluated = std::thread::Builder::new()
        .name("sparql".into())
        .stack_size(stack_size())
        .spawn(move || answer(&dir, &input))
        .map(|thread| thread.join());
    let (header, body) = match evaluated {
        Ok(Ok(result)) => match result {
            Ok(a) => (
                Header::Answer {
                    media_type: a.media_type,
                },
                a.body,
            ),
            Err(f) => (Header::Failure(f), Vec::new()),
        },
        _ => return ExitCode::FAILURE,
    };
    let Ok(mut line) = serde_json::to_vec(&header) else {
        return ExitCode::FAILURE;
    };
    line.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&line)
        .and_then(|()| stdout.write_all(&body))
        .is_err()
        || stdout.flush().is_err()
    {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The evaluation stack: [`EVALUATION_STACK`], or a quarter of the address
/// space the worker may use if that is less.
fn stack_size() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0 {
        return EVALUATION_STACK;
    }
    usize::try_from(limit.rlim_cur / 4)
        .unwrap_or(usize::MAX)
        .min(EVALUATION_STACK)
}

fn answer(dir: &Path, input: &[u8]) -> Result<Answer, Failure> {
    let job: Job = serde_json::from_slice(input).map_err(|e| internal(e.to_string()))?;
    let config = NodeConfig::load(dir).map_err(|e| internal(format!("{e:#}")))?;
    let peers = crate::node_peers(dir).map_err(|e| internal(format!("{e:#}")))?;
    let store = NodeStore::open_read_only(&job.store, &config.base_url)
        .map_err(|e| internal(format!("{e:#}")))?;
    let services = PeerServices::new(&peers, Duration::from_millis(job.service_timeout_ms));
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(READY)
        .and_then(|()| stdout.flush())
        .map_err(|e| internal(e.to_string()))?;
    drop(stdout);
    eval::evaluate(
        &store,
        services,
        &job.query,
        job.accept.as_deref(),
        CancellationToken::new(),
    )
}
