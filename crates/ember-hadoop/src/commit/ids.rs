//! Hadoop's names for jobs, tasks and task attempts (`JobID`, `TaskID`, `TaskAttemptID`), as
//! they appear in the commit protocol's directory names.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A job, named as Hadoop's `JobID`: `job_<tracker>_<id>`, the id at least four digits.
///
/// Spark names the job of a write this way too: the tracker is the time the write began
/// (`yyyyMMddHHmmss`, [`JobId::tracker_now`]) and the id the RDD's or the stage's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobId {
    /// Hadoop's `jtIdentifier`: who started the job, and when.
    pub tracker: String,
    /// The job's number under its tracker.
    pub id: u32,
}

impl JobId {
    /// Job `id` of `tracker`.
    pub fn new(tracker: impl Into<String>, id: u32) -> Self {
        JobId {
            tracker: tracker.into(),
            id,
        }
    }

    /// The tracker name Spark gives a write that begins now: the UTC time as `yyyyMMddHHmmss`.
    pub fn tracker_now() -> String {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        tracker_at(seconds)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job_{}_{:04}", self.tracker, self.id)
    }
}

/// `seconds` since the epoch as `yyyyMMddHHmmss`, UTC.
fn tracker_at(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The calendar date `days` after 1970-01-01 (the proleptic Gregorian calendar, counted in
/// 400-year eras of 146 097 days).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Whether a task maps or reduces: the `m` or `r` of Hadoop's task names. Spark names every
/// writing task a map task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskType {
    /// `m`.
    Map,
    /// `r`.
    Reduce,
}

/// A task of a job, named as Hadoop's `TaskID`: `task_<tracker>_<job>_<m|r>_<task>`, the task
/// number at least six digits. Its attempts share its output: at most one of them commits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskId {
    /// The job.
    pub job: JobId,
    /// Map or reduce.
    pub task_type: TaskType,
    /// The task's number in its job: the partition it writes.
    pub id: u32,
}

impl TaskId {
    /// Task `id` of `job`.
    pub fn new(job: JobId, task_type: TaskType, id: u32) -> Self {
        TaskId { job, task_type, id }
    }

    /// The `<tracker>_<job>_<m|r>_<task>` that task and attempt names share.
    fn body(&self) -> String {
        let kind = match self.task_type {
            TaskType::Map => 'm',
            TaskType::Reduce => 'r',
        };
        format!(
            "{}_{:04}_{kind}_{:06}",
            self.job.tracker, self.job.id, self.id
        )
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task_{}", self.body())
    }
}

/// One attempt at a task, named as Hadoop's `TaskAttemptID`:
/// `attempt_<tracker>_<job>_<m|r>_<task>_<attempt>`.
///
/// Hadoop numbers a task's attempts 0, 1, ...; ember uses the engine's task attempt id, unique in
/// the application, so that an attempt in a resubmitted stage never shares its directory with
/// a lost attempt of an earlier run of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskAttemptId {
    /// The task.
    pub task: TaskId,
    /// Which attempt.
    pub attempt: u64,
}

impl TaskAttemptId {
    /// Attempt `attempt` at `task`.
    pub fn new(task: TaskId, attempt: u64) -> Self {
        TaskAttemptId { task, attempt }
    }
}

impl fmt::Display for TaskAttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt_{}_{}", self.task.body(), self.attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hadoops() {
        let job = JobId::new("202401311530", 7);
        assert_eq!(job.to_string(), "job_202401311530_0007");
        let task = TaskId::new(job.clone(), TaskType::Map, 3);
        assert_eq!(task.to_string(), "task_202401311530_0007_m_000003");
        let reduce = TaskId::new(job, TaskType::Reduce, 1_234_567);
        assert_eq!(reduce.to_string(), "task_202401311530_0007_r_1234567");
        let attempt = TaskAttemptId::new(task, 2);
        assert_eq!(attempt.to_string(), "attempt_202401311530_0007_m_000003_2");
    }

    #[test]
    fn trackers_are_utc_times() {
        assert_eq!(tracker_at(0), "19700101000000");
        // `date -u -d @1709218800 +%Y%m%d%H%M%S`: a leap day.
        assert_eq!(tracker_at(1_709_218_800), "20240229150000");
        assert_eq!(tracker_at(951_868_799), "20000229235959");
        assert_eq!(JobId::tracker_now().len(), 14);
    }
}
