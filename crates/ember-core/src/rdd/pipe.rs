//! `pipe`: each partition through an external command (Spark's `RDD.pipe` and `PipedRDD`).
//!
//! # How a task runs the command
//!
//! 1. The task starts the command with the executor's environment plus the [`PipeOptions`]'
//!    variables, and `EMBER_PARTITION_ID` set to the partition's index.
//! 2. Two threads of its own drain the command's stdout (lines, into a channel) and stderr
//!    (keeping its last lines for the error message). Because both pipes are always drained, a
//!    command that writes before it reads, or writes much more than it reads, cannot block on
//!    a full pipe while the task blocks writing its stdin: no deadlock.
//! 3. The task's own thread computes the parent partition (its iterator may read shuffle
//!    blocks or cached partitions, which belong to the task's thread) and writes each element's
//!    `Display` as a line to the command's stdin, whenever no output line is waiting; the
//!    iterator hands out output lines as they arrive.
//! 4. When the input is written, stdin is closed; when stdout ends, the task waits for the
//!    command. An exit status other than 0 fails the task: "subprocess exited with status N.
//!    command ran: ...", with the end of its stderr.
//!
//! A command that stops reading early (`head -1`) is fine: the rest of the input is dropped,
//! and its exit status decides. An iterator dropped before the end (`take`) kills the command.

use super::{BoxIter, PartitionOp, Rdd};
use crate::data::Data;
use crate::error::Error;
use crate::task_context::abort;
use crossbeam_channel::{Receiver, TryRecvError};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt::Display;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Lines of stderr kept for the message of a failed command.
const STDERR_TAIL_LINES: usize = 20;

/// How [`Rdd::pipe_with`] runs its command: what Spark's `pipe(command, env, ...)` overload
/// takes. Spark's `printPipeContext`, `printRDDElement` and `separateWorkingDir` are not
/// offered.
///
/// ```
/// use ember_core::rdd::PipeOptions;
/// let options = PipeOptions::new(["sh", "-c", "echo $GREETING"]).env("GREETING", "hello");
/// assert_eq!(options.command(), ["sh", "-c", "echo $GREETING"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeOptions {
    command: Vec<String>,
    env: Vec<(String, String)>,
}

impl PipeOptions {
    /// Runs `command`: the program, then its arguments, passed as they are (no shell).
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        PipeOptions {
            command: command.into_iter().map(Into::into).collect(),
            env: Vec::new(),
        }
    }

    /// Runs `command` split on whitespace, as Spark's `pipe(command: String)` splits it: no
    /// quoting; for arguments with spaces, use [`PipeOptions::new`].
    pub fn split(command: &str) -> Self {
        PipeOptions::new(command.split_whitespace())
    }

    /// Sets the environment variable `name` to `value` for the command, over the executor's.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The program and its arguments.
    pub fn command(&self) -> &[String] {
        &self.command
    }
}

impl<T: Data + Display> Rdd<T> {
    /// Each partition through the external command `command`, split on whitespace (Spark's
    /// `pipe(command: String)`): elements go to its stdin as lines of their `Display`, and its
    /// stdout lines are the new RDD's elements. The command runs once per partition, on the
    /// executor, so it must be installed there.
    ///
    /// ```
    /// # use ember_core::Context;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let words = ctx.parallelize(vec!["ember".to_string(), "spark".into(), "rdd".into()], 2);
    /// let upper = words.pipe("tr a-z A-Z").collect().unwrap();
    /// assert_eq!(upper, ["EMBER", "SPARK", "RDD"]);
    /// let lines = words.pipe("wc -l").collect().unwrap();
    /// assert_eq!(lines.iter().map(|l| l.trim()).collect::<Vec<_>>(), ["1", "2"]);
    /// ```
    ///
    /// A command that fails fails the job, naming it and its exit status:
    ///
    /// ```
    /// # use ember_core::Context;
    /// # let ctx = Context::with_master("local[1]").unwrap();
    /// let err = ctx.parallelize(vec![1, 2], 1).pipe("false").collect().unwrap_err();
    /// assert!(err.to_string().contains("subprocess exited with status 1. command ran: false"), "{err}");
    /// ```
    pub fn pipe(&self, command: &str) -> Rdd<String> {
        self.pipe_with(PipeOptions::split(command))
    }

    /// [`pipe`](Self::pipe) with the program and its arguments apart (no splitting, no shell),
    /// and environment variables: Spark's `pipe(command: Seq[String], env: Map[String, String])`.
    ///
    /// ```
    /// # use ember_core::Context;
    /// use ember_core::rdd::PipeOptions;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let options = PipeOptions::new(["sh", "-c", "sed \"s/^/$PREFIX/\""]).env("PREFIX", "> ");
    /// let quoted = ctx.parallelize(vec![1, 2, 3], 2).pipe_with(options).collect().unwrap();
    /// assert_eq!(quoted, ["> 1", "> 2", "> 3"]);
    /// ```
    ///
    /// The job that computes the result fails when the command is empty, cannot be started, or
    /// exits with a status other than 0; the message names the command, and for an exit
    /// status ends with the last lines of its stderr.
    pub fn pipe_with(&self, options: PipeOptions) -> Rdd<String> {
        self.with_op(
            "pipe",
            PipeOp {
                options,
                _t: PhantomData,
            },
        )
    }
}

/// `pipe`: a partition through the command.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct PipeOp<T> {
    options: PipeOptions,
    #[serde(skip)]
    _t: PhantomData<fn(T)>,
}

impl<T: Data + Display> PartitionOp<T, String> for PipeOp<T> {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<String> {
        match Piped::start(&self.options, partition, input) {
            Ok(piped) => Box::new(piped),
            Err(e) => abort(e),
        }
    }
}

/// The command as it prints in messages.
fn shown(command: &[String]) -> String {
    command.join(" ")
}

/// A running command and the partition being written to it.
struct Piped<T> {
    command: Vec<String>,
    child: Child,
    /// `None` once the input is all written, or the command stopped reading.
    stdin: Option<BufWriter<ChildStdin>>,
    input: BoxIter<T>,
    lines: Receiver<std::io::Result<String>>,
    stderr: Option<JoinHandle<VecDeque<String>>>,
    finished: bool,
}

impl<T: Display> Piped<T> {
    fn start(options: &PipeOptions, partition: usize, input: BoxIter<T>) -> crate::Result<Self> {
        let Some((program, args)) = options.command.split_first() else {
            return Err(Error::Input(
                "pipe needs a command to run, got an empty one; give the program and its \
                 arguments"
                    .into(),
            ));
        };
        let mut child = Command::new(program)
            .args(args)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .env("EMBER_PARTITION_ID", partition.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::Input(format!(
                    "cannot run program \"{program}\" (command: {}): {e}; is it installed, \
                     executable and on the PATH of every executor?",
                    shown(&options.command)
                ))
            })?;
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::Internal("a piped command without its pipes".into()));
                }
            };
        let (send, lines) = crossbeam_channel::unbounded();
        let name = format!("pipe stdout of {program}");
        let reader = std::thread::Builder::new().name(name).spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let line = line.map(|mut bytes| {
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                    String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                });
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let name = format!("pipe stderr of {program}");
        let stderr = std::thread::Builder::new().name(name).spawn(move || {
            let mut tail = VecDeque::new();
            for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(String::from_utf8_lossy(&line).into_owned());
            }
            tail
        });
        let (Ok(_), Ok(stderr)) = (reader, stderr) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Internal(
                "cannot start the threads that read a piped command".into(),
            ));
        };
        Ok(Piped {
            command: options.command.clone(),
            child,
            stdin: Some(BufWriter::with_capacity(1 << 16, stdin)),
            input,
            lines,
            stderr: Some(stderr),
            finished: false,
        })
    }

    /// Writes the next element; closes stdin after the last. A command that stopped reading
    /// gets no more.
    fn write_next(&mut self) -> crate::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Ok(());
        };
        let written = match self.input.next() {
            Some(x) => writeln!(stdin, "{x}"),
            None => {
                let flushed = stdin.flush();
                self.stdin = None;
                flushed
            }
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.stdin = None;
                Ok(())
            }
            Err(e) => Err(Error::Input(format!(
                "cannot write to the stdin of piped command {}: {e}",
                shown(&self.command)
            ))),
        }
    }

    /// The command's exit, once its stdout has ended.
    fn finish(&mut self) -> crate::Result<()> {
        self.finished = true;
        let status = self.child.wait().map_err(|e| {
            Error::Input(format!(
                "cannot wait for piped command {}: {e}",
                shown(&self.command)
            ))
        })?;
        let tail = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        let code = match status.code() {
            Some(code) => code.to_string(),
            None => signal_of(&status),
        };
        let mut message = format!(
            "subprocess exited with status {code}. command ran: {}",
            shown(&self.command)
        );
        if !tail.is_empty() {
            message.push_str("; the end of its stderr:\n");
            message.push_str(&Vec::from(tail).join("\n"));
        }
        Err(Error::UserCode(message))
    }
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => format!("{} (killed by signal {signal})", 128 + signal),
        None => status.to_string(),
    }
}

#[cfg(not(unix))]
fn signal_of(status: &std::process::ExitStatus) -> String {
    status.to_string()
}

impl<T: Display> Iterator for Piped<T> {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        loop {
            let line = if self.stdin.is_some() {
                match self.lines.try_recv() {
                    Ok(line) => line,
                    Err(TryRecvError::Empty) => {
                        self.write_next().unwrap_or_else(|e| abort(e));
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => {
                        // Stdout closed before the input was all written: the rest is dropped.
                        self.stdin = None;
                        continue;
                    }
                }
            } else {
                match self.lines.recv() {
                    Ok(line) => line,
                    Err(_) => {
                        self.finish().unwrap_or_else(|e| abort(e));
                        return None;
                    }
                }
            };
            return Some(line.unwrap_or_else(|e| {
                abort(Error::Input(format!(
                    "cannot read the stdout of piped command {}: {e}",
                    shown(&self.command)
                )))
            }));
        }
    }
}

impl<T> Drop for Piped<T> {
    fn drop(&mut self) {
        if !self.finished {
            // Stopped early (`take`, or a failure): the command's output is not wanted.
            self.stdin = None;
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
