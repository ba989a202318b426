//! Records queued for a topic a run at a time (librdkafka's `rd_kafka_produce_batch`, which
//! rdkafka does not wrap).
//!
//! rdkafka's `send` queues one record a call through `rd_kafka_producev`, which looks the
//! topic up by name under the client's write lock, copies the name into a C string and reads
//! the clock, every record. A sink sending a batch's hundreds of thousands of short rows spent
//! more time there than on the rows. `rd_kafka_produce_batch` takes a topic handle made once
//! and an array of records: one lock and one clock reading a run. It cannot carry headers, so
//! rows with headers still go one at a time.

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as rdsys;
use std::ffi::CString;
use std::ptr::{null_mut, NonNull};
use std::time::Duration;

/// librdkafka's `RD_KAFKA_PARTITION_UA`: the producer's partitioner picks the partition.
const UNASSIGNED_PARTITION: i32 = -1;

/// How many records go to librdkafka a call: enough that a call's cost is spread thin,
/// few enough that the array stays small.
const RUN: usize = 8192;

/// How long to wait for the producer's queue to drain when it is full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);

/// A producer's handle on one topic.
pub(crate) struct TopicHandle(NonNull<rdsys::rd_kafka_topic_t>);

impl TopicHandle {
    /// `producer`'s handle on topic `name`, which must be dropped before the producer.
    pub(crate) fn new<P: Producer>(producer: &P, name: &str) -> Result<TopicHandle, KafkaError> {
        let bad_name = || KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic);
        let name = CString::new(name).map_err(|_| bad_name())?;
        // SAFETY: a live client and a NUL-terminated name; librdkafka copies the name, and
        // the handle holds a reference of its own, released in `drop`.
        let handle = unsafe {
            rdsys::rd_kafka_topic_new(producer.client().native_ptr(), name.as_ptr(), null_mut())
        };
        NonNull::new(handle).map(TopicHandle).ok_or_else(|| {
            // SAFETY: reads this thread's last librdkafka error.
            KafkaError::MessageProduction(unsafe { rdsys::rd_kafka_last_error() }.into())
        })
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the reference taken in `new`, released once.
        unsafe { rdsys::rd_kafka_topic_destroy(self.0.as_ptr()) }
    }
}

/// A record to send: its key and value, either of which may be missing.
#[derive(Clone, Copy)]
pub(crate) struct OutRecord<'a> {
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
}

/// Queues `records` for `topic` in order, each to the partition the producer's partitioner
/// picks, waiting while the producer's queue is full. librdkafka copies the bytes.
pub(crate) fn send_all(topic: &TopicHandle, records: &[OutRecord<'_>]) -> Result<(), KafkaError> {
    let mut messages = Vec::with_capacity(RUN.min(records.len()));
    for run in records.chunks(RUN) {
        messages.clear();
        messages.extend(run.iter().map(|r| message(topic, r)));
        let mut sent = 0;
        while sent < messages.len() {
            sent += queue(topic, &mut messages[sent..]);
            match messages.get(sent).map(|m| RDKafkaErrorCode::from(m.err)) {
                None => {}
                Some(RDKafkaErrorCode::QueueFull) => std::thread::sleep(QUEUE_FULL_BACKOFF),
                Some(code) => return Err(KafkaError::MessageProduction(code)),
            }
        }
    }
    Ok(())
}

/// Queues `record` (one with headers, which `send_all` cannot carry), waiting while the
/// producer's queue is full.
pub(crate) fn send_one(
    producer: &ThreadedProducer<DefaultProducerContext>,
    record: BaseRecord<'_, [u8], [u8]>,
) -> Result<(), KafkaError> {
    let mut pending = record;
    loop {
        match producer.send(pending) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                pending = back;
                std::thread::sleep(QUEUE_FULL_BACKOFF);
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Queues `messages` until the first that fails, and says how many went.
fn queue(topic: &TopicHandle, messages: &mut [rdsys::rd_kafka_message_t]) -> usize {
    let count = i32::try_from(messages.len()).expect("a run fits an i32");
    // SAFETY: a live topic handle and `count` messages whose bytes outlive the call
    // (RD_KAFKA_MSG_F_COPY: librdkafka copies them); it writes each message's `err`.
    unsafe {
        rdsys::rd_kafka_produce_batch(
            topic.0.as_ptr(),
            UNASSIGNED_PARTITION,
            rdsys::RD_KAFKA_MSG_F_COPY,
            messages.as_mut_ptr(),
            count,
        )
    };
    // On a full queue librdkafka fails that message and every later one; other failures are
    // the message's own, and end the write as well.
    messages
        .iter()
        .position(|m| m.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .unwrap_or(messages.len())
}

fn message(topic: &TopicHandle, record: &OutRecord<'_>) -> rdsys::rd_kafka_message_t {
    let (payload, len) = parts(record.value);
    let (key, key_len) = parts(record.key);
    rdsys::rd_kafka_message_t {
        err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
        rkt: topic.0.as_ptr(),
        partition: UNASSIGNED_PARTITION,
        payload,
        len,
        key,
        key_len,
        offset: 0,
        _private: null_mut(),
    }
}

/// A pointer and length for librdkafka: null for a missing key or value. librdkafka only
/// reads through it (it copies the bytes).
fn parts(bytes: Option<&[u8]>) -> (*mut std::ffi::c_void, usize) {
    match bytes {
        Some(b) => (b.as_ptr().cast_mut().cast(), b.len()),
        None => (null_mut(), 0),
    }
}
