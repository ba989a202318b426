//! The event log: what the scheduler did, one JSON object per line, for tools that look at an
//! application after it ran (Spark's `EventLoggingListener`).
//!
//! With `ember.eventLog.enabled=true` the driver writes `<ember.eventLog.dir>/<application id>`.
//! Events and their fields carry the names Spark's event log gives them (`"Event":
//! "SparkListenerTaskEnd"`, `"Task Info"`, `"Locality"`, ...), so that what reads Spark's logs
//! for those fields reads ember's too; ember writes the fields it knows, not all of Spark's.
//!
//! Like Spark, a local directory must exist, the log is named `<id>.inprogress` while the
//! application runs and renamed when it ends. A directory on HDFS or S3 (`hdfs://`, `s3a://`)
//! receives the whole log when the application ends; until then it grows under
//! `ember.local.dir`, and stays there, named in a warning, should the upload fail.
//!
//! Writing is best effort: an event that cannot be written is reported once and the
//! application goes on, as a lost log line should not fail a job.

use super::locality::TaskLocality;
use crate::conf::{keys, EmberConf};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::task_context::MetricsSnapshot;
use object_store::ObjectStoreExt;
use parking_lot::Mutex;
use serde::{Serialize, Serializer};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Milliseconds since the Unix epoch, the unit of every time in the log.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One attempt of one task, as `"Task Info"`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskInfo {
    #[serde(rename = "Task ID")]
    pub task_id: u64,
    #[serde(rename = "Index")]
    pub index: usize,
    #[serde(rename = "Attempt")]
    pub attempt: usize,
    #[serde(rename = "Partition ID")]
    pub partition_id: usize,
    #[serde(rename = "Launch Time")]
    pub launch_time: u64,
    #[serde(rename = "Executor ID")]
    pub executor_id: String,
    #[serde(rename = "Host")]
    pub host: String,
    #[serde(rename = "Locality", serialize_with = "as_text")]
    pub locality: TaskLocality,
    #[serde(rename = "Speculative")]
    pub speculative: bool,
    /// 0 until it finished, as in Spark.
    #[serde(rename = "Finish Time")]
    pub finish_time: u64,
    #[serde(rename = "Failed")]
    pub failed: bool,
}

fn as_text<S: Serializer>(locality: &TaskLocality, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(locality)
}

/// One attempt of one stage, as `"Stage Info"`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageInfo {
    #[serde(rename = "Stage ID")]
    pub stage_id: usize,
    #[serde(rename = "Stage Attempt ID")]
    pub attempt: usize,
    #[serde(rename = "Number of Tasks")]
    pub tasks: usize,
    #[serde(rename = "Submission Time")]
    pub submitted: u64,
    #[serde(rename = "Completion Time", skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
    #[serde(rename = "Failure Reason", skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Why an attempt ended, as `"Task End Reason"`.
#[derive(Debug, Serialize)]
#[serde(tag = "Reason")]
pub(crate) enum TaskEndReason {
    Success,
    #[serde(rename = "FetchFailed")]
    FetchFailed {
        #[serde(rename = "Shuffle ID")]
        shuffle_id: usize,
        #[serde(rename = "Map Index")]
        map_index: usize,
        #[serde(rename = "Message")]
        message: String,
    },
    #[serde(rename = "ExceptionFailure")]
    Failure {
        #[serde(rename = "Description")]
        description: String,
    },
}

impl TaskEndReason {
    pub(crate) fn of(error: &Error) -> Self {
        match error {
            Error::FetchFailed {
                shuffle_id,
                map_index,
                ..
            } => TaskEndReason::FetchFailed {
                shuffle_id: *shuffle_id,
                map_index: *map_index,
                message: error.to_string(),
            },
            other => TaskEndReason::Failure {
                description: other.to_string(),
            },
        }
    }
}

/// A successful attempt's counters, as `"Task Metrics"`.
#[derive(Debug, Serialize)]
pub(crate) struct TaskMetrics {
    #[serde(rename = "Disk Bytes Spilled")]
    spill_bytes: u64,
    #[serde(rename = "Shuffle Read Metrics")]
    shuffle_read: ShuffleReadMetrics,
    #[serde(rename = "Shuffle Write Metrics")]
    shuffle_write: ShuffleWriteMetrics,
}

#[derive(Debug, Serialize)]
struct ShuffleReadMetrics {
    #[serde(rename = "Total Bytes Read")]
    bytes: u64,
    #[serde(rename = "Total Records Read")]
    records: u64,
}

#[derive(Debug, Serialize)]
struct ShuffleWriteMetrics {
    #[serde(rename = "Shuffle Bytes Written")]
    bytes: u64,
    #[serde(rename = "Shuffle Records Written")]
    records: u64,
}

impl From<&MetricsSnapshot> for TaskMetrics {
    fn from(m: &MetricsSnapshot) -> Self {
        TaskMetrics {
            spill_bytes: m.spill_bytes,
            shuffle_read: ShuffleReadMetrics {
                bytes: m.shuffle_bytes_read,
                records: m.shuffle_records_read,
            },
            shuffle_write: ShuffleWriteMetrics {
                bytes: m.shuffle_bytes_written,
                records: m.records_written,
            },
        }
    }
}

/// How a job ended, as `"Job Result"`.
#[derive(Debug, Serialize)]
#[serde(tag = "Result")]
pub(crate) enum JobResult {
    JobSucceeded,
    JobFailed {
        #[serde(rename = "Exception")]
        exception: ExceptionText,
    },
}

#[derive(Debug, Serialize)]
pub(crate) struct ExceptionText {
    #[serde(rename = "Message")]
    pub message: String,
}

/// What the scheduler tells the log.
#[derive(Debug, Serialize)]
#[serde(tag = "Event")]
pub(crate) enum SchedulerEvent<'a> {
    #[serde(rename = "SparkListenerLogStart")]
    LogStart {
        #[serde(rename = "Ember Version")]
        version: &'a str,
    },
    #[serde(rename = "SparkListenerApplicationStart")]
    ApplicationStart {
        #[serde(rename = "App Name")]
        name: &'a str,
        #[serde(rename = "App ID")]
        id: &'a str,
        #[serde(rename = "Timestamp")]
        timestamp: u64,
        #[serde(rename = "User")]
        user: &'a str,
    },
    #[serde(rename = "SparkListenerJobStart")]
    JobStart {
        #[serde(rename = "Job ID")]
        job_id: usize,
        #[serde(rename = "Submission Time")]
        submitted: u64,
        #[serde(rename = "Stage IDs")]
        stage_ids: &'a [usize],
    },
    #[serde(rename = "SparkListenerStageSubmitted")]
    StageSubmitted {
        #[serde(rename = "Stage Info")]
        info: &'a StageInfo,
    },
    #[serde(rename = "SparkListenerTaskStart")]
    TaskStart {
        #[serde(rename = "Stage ID")]
        stage_id: usize,
        #[serde(rename = "Stage Attempt ID")]
        stage_attempt: usize,
        #[serde(rename = "Task Info")]
        info: &'a TaskInfo,
    },
    #[serde(rename = "SparkListenerTaskEnd")]
    TaskEnd {
        #[serde(rename = "Stage ID")]
        stage_id: usize,
        #[serde(rename = "Stage Attempt ID")]
        stage_attempt: usize,
        #[serde(rename = "Task Type")]
        task_type: &'a str,
        #[serde(rename = "Task End Reason")]
        reason: TaskEndReason,
        #[serde(rename = "Task Info")]
        info: &'a TaskInfo,
        #[serde(rename = "Task Metrics", skip_serializing_if = "Option::is_none")]
        metrics: Option<TaskMetrics>,
    },
    #[serde(rename = "SparkListenerStageCompleted")]
    StageCompleted {
        #[serde(rename = "Stage Info")]
        info: &'a StageInfo,
    },
    #[serde(rename = "SparkListenerJobEnd")]
    JobEnd {
        #[serde(rename = "Job ID")]
        job_id: usize,
        #[serde(rename = "Completion Time")]
        completed: u64,
        #[serde(rename = "Job Result")]
        result: JobResult,
    },
    #[serde(rename = "SparkListenerApplicationEnd")]
    ApplicationEnd {
        #[serde(rename = "Timestamp")]
        timestamp: u64,
    },
}

/// Where the finished log goes.
enum Destination {
    /// Renamed to this path.
    Local(PathBuf),
    /// Uploaded to this URL.
    Remote(String),
}

struct Open {
    out: BufWriter<File>,
    /// The file being written.
    path: PathBuf,
    destination: Destination,
    /// A write failed and was reported; later ones are not.
    failed: bool,
}

/// The application's event log; every method is a no-op once it is closed.
pub(crate) struct EventLog {
    env: Arc<Env>,
    open: Mutex<Option<Open>>,
}

impl EventLog {
    /// Opens the log of application `app_id` if `ember.eventLog.enabled`, and writes its start.
    ///
    /// # Errors
    /// A bad setting, a local directory that does not exist, or a log of the same name there.
    pub(crate) fn start(conf: &EmberConf, env: &Arc<Env>, app_id: &str) -> Result<Option<Self>> {
        if !conf.require(&keys::EVENT_LOG_ENABLED)? {
            return Ok(None);
        }
        let dir = conf.require(&keys::EVENT_LOG_DIR)?;
        let (path, destination) = match local_dir(&dir) {
            Some(local) => {
                if !local.is_dir() {
                    return Err(Error::Input(format!(
                        "the event log directory {dir} does not exist: create it, or set {} to \
                         one that does ({}=true)",
                        keys::EVENT_LOG_DIR.key,
                        keys::EVENT_LOG_ENABLED.key
                    )));
                }
                let done = local.join(app_id);
                (local.join(format!("{app_id}.inprogress")), done)
            }
            None => {
                let url = format!("{}/{app_id}", dir.trim_end_matches('/'));
                let scratch = PathBuf::from(conf.require(&keys::LOCAL_DIR)?);
                let path = scratch.join(format!("ember-eventlog-{app_id}.inprogress"));
                return Self::open(env, path, Destination::Remote(url), conf, app_id).map(Some);
            }
        };
        if destination.exists() {
            return Err(Error::Input(format!(
                "an event log {} exists already: move it away, or set {} to another directory",
                destination.display(),
                keys::EVENT_LOG_DIR.key
            )));
        }
        Self::open(env, path, Destination::Local(destination), conf, app_id).map(Some)
    }

    fn open(
        env: &Arc<Env>,
        path: PathBuf,
        destination: Destination,
        conf: &EmberConf,
        app_id: &str,
    ) -> Result<Self> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let log = EventLog {
            env: env.clone(),
            open: Mutex::new(Some(Open {
                out: BufWriter::new(file),
                path,
                destination,
                failed: false,
            })),
        };
        log.post(&SchedulerEvent::LogStart {
            version: env!("CARGO_PKG_VERSION"),
        });
        let name = conf.get_raw(keys::APP_NAME.key).unwrap_or("ember");
        log.post(&SchedulerEvent::ApplicationStart {
            name,
            id: app_id,
            timestamp: now_millis(),
            user: &ember_hadoop::user_name(),
        });
        log.flush();
        Ok(log)
    }

    /// Appends one event.
    pub(crate) fn post(&self, event: &SchedulerEvent<'_>) {
        self.post_any(event);
    }

    /// Appends an event of another part of ember (a streaming listener's), which names itself
    /// with its own `"Event"` field.
    pub(crate) fn post_any(&self, event: &impl Serialize) {
        let mut open = self.open.lock();
        let Some(open) = open.as_mut() else {
            return;
        };
        let written = serde_json::to_writer(&mut open.out, event)
            .map_err(std::io::Error::from)
            .and_then(|()| open.out.write_all(b"\n"));
        if let Err(e) = written {
            open.report(&e);
        }
    }

    /// Makes what was posted visible to readers of the file (at the ends of jobs).
    pub(crate) fn flush(&self) {
        if let Some(open) = self.open.lock().as_mut() {
            if let Err(e) = open.out.flush() {
                open.report(&e);
            }
        }
    }

    /// Writes the application's end and puts the log where it belongs.
    pub(crate) fn close(&self) {
        self.post(&SchedulerEvent::ApplicationEnd {
            timestamp: now_millis(),
        });
        let Some(mut open) = self.open.lock().take() else {
            return;
        };
        if let Err(e) = open.out.flush() {
            open.report(&e);
        }
        let placed = match &open.destination {
            Destination::Local(done) => std::fs::rename(&open.path, done)
                .map_err(|e| format!("cannot rename it to {}: {e}", done.display())),
            Destination::Remote(url) => upload(&self.env, &open.path, url)
                .and_then(|()| std::fs::remove_file(&open.path).map_err(|e| e.to_string())),
        };
        if let Err(e) = placed {
            tracing::warn!("the event log stays in {}: {e}", open.path.display());
        }
    }
}

impl Open {
    fn report(&mut self, e: &std::io::Error) {
        if !std::mem::replace(&mut self.failed, true) {
            tracing::warn!(
                "cannot write the event log {}: {e}; it will miss events",
                self.path.display()
            );
        }
    }
}

/// The local directory `dir` names: a path, or a `file:` URL.
fn local_dir(dir: &str) -> Option<PathBuf> {
    if let Some(rest) = dir.strip_prefix("file:") {
        // file:/a, file:///a
        return Some(PathBuf::from(format!("/{}", rest.trim_start_matches('/'))));
    }
    (!dir.contains("://")).then(|| PathBuf::from(dir))
}

/// Copies the file at `from` to `url` through its object store.
fn upload(env: &Env, from: &Path, url: &str) -> std::result::Result<(), String> {
    const PART: usize = 8 << 20;
    let to = env.resolve(url).map_err(|e| e.to_string())?;
    let explain = |e: object_store::Error| ember_hadoop::object_stores::explain(url, &e);
    let rt = crate::network::runtime();
    let upload = rt
        .block_on(to.store.put_multipart(&to.path))
        .map_err(explain)?;
    let _in_runtime = rt.enter();
    let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
    let mut file = File::open(from).map_err(|e| e.to_string())?;
    let mut buffer = vec![0; PART];
    loop {
        let n = file.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        writer.write(&buffer[..n]);
    }
    rt.block_on(writer.finish()).map(|_| ()).map_err(explain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dirs_are_paths_and_file_urls() {
        assert_eq!(local_dir("/tmp/e"), Some(PathBuf::from("/tmp/e")));
        assert_eq!(local_dir("file:/tmp/e"), Some(PathBuf::from("/tmp/e")));
        assert_eq!(local_dir("file:///tmp/e"), Some(PathBuf::from("/tmp/e")));
        assert_eq!(local_dir("hdfs://nn:8020/logs"), None);
    }

    #[test]
    fn events_have_sparks_names() {
        let info = TaskInfo {
            task_id: 7,
            index: 2,
            attempt: 0,
            partition_id: 2,
            launch_time: 1,
            executor_id: "1".into(),
            host: "h".into(),
            locality: TaskLocality::NodeLocal,
            speculative: false,
            finish_time: 3,
            failed: false,
        };
        let event = SchedulerEvent::TaskEnd {
            stage_id: 1,
            stage_attempt: 0,
            task_type: "ShuffleMapTask",
            reason: TaskEndReason::Success,
            info: &info,
            metrics: None,
        };
        let json: serde_json::Value = serde_json::to_value(&event).unwrap();
        assert_eq!(json["Event"], "SparkListenerTaskEnd");
        assert_eq!(json["Task End Reason"]["Reason"], "Success");
        assert_eq!(json["Task Info"]["Locality"], "NODE_LOCAL");
        assert_eq!(json["Task Info"]["Task ID"], 7);
        let ended = SchedulerEvent::JobEnd {
            job_id: 0,
            completed: 5,
            result: JobResult::JobFailed {
                exception: ExceptionText {
                    message: "boom".into(),
                },
            },
        };
        let json = serde_json::to_value(&ended).unwrap();
        assert_eq!(json["Job Result"]["Result"], "JobFailed");
        assert_eq!(json["Job Result"]["Exception"]["Message"], "boom");
    }
}
