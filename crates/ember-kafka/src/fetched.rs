//! A consumer's records taken a batch at a time (librdkafka's `rd_kafka_consume_batch_queue`,
//! which rdkafka does not wrap).
//!
//! rdkafka's `poll` gives one record a call, and each call reads the clock several times
//! (for its own timeout and for librdkafka's `max.poll.interval.ms` bookkeeping). On a
//! virtual machine whose clock is not read through the vDSO that is a system call each, and
//! for records of a few hundred bytes it was a tenth of a stream's time. Taking what the
//! consumer's queue holds in one call reads the clock once for thousands of records.
//!
//! The records stay in librdkafka's fetch buffers, borrowed until the batch is refilled or
//! dropped, so nothing is copied on the way to the task's Arrow columns.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, Timestamp};
use rdkafka_sys as rdsys;
use std::ffi::CStr;
use std::ptr::NonNull;
use std::time::Duration;

/// The queue a consumer's records arrive on, read in batches.
pub(crate) struct RecordQueue(NonNull<rdsys::rd_kafka_queue_t>);

// SAFETY: librdkafka's queues may be used from any thread; one task reads this one at a time.
unsafe impl Send for RecordQueue {}

impl RecordQueue {
    /// The queue of `consumer` (which has a `group.id`: its records then all arrive on the
    /// consumer queue). It must be dropped before the consumer.
    pub(crate) fn of(consumer: &BaseConsumer) -> Option<RecordQueue> {
        // SAFETY: the client pointer is live while `consumer` is; the queue returned holds a
        // reference of its own, released in `drop`.
        let queue = unsafe { rdsys::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) };
        NonNull::new(queue).map(RecordQueue)
    }

    /// Replaces `batch`'s records with at most `max` of the queue's: those it holds now, or
    /// if it holds none, the first to arrive within `wait`.
    pub(crate) fn refill(&self, batch: &mut Batch, max: usize, wait: Duration) {
        batch.clear();
        let max = max.clamp(1, batch.records.capacity());
        let mut taken = self.take(batch, max, 0);
        if taken == 0 {
            // Asking for one: librdkafka waits out the timeout until it has all it was asked.
            let wait = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
            taken = self.take(batch, 1, wait);
        }
        // SAFETY: librdkafka wrote `taken` (at most `max`, within the capacity) message
        // pointers, which the batch now owns.
        unsafe { batch.records.set_len(taken) };
    }

    /// Takes at most `max` records into `batch`'s spare capacity, waiting up to `wait_ms`.
    fn take(&self, batch: &mut Batch, max: usize, wait_ms: i32) -> usize {
        // SAFETY: the array has room for `max` pointers; librdkafka writes no more.
        let taken = unsafe {
            rdsys::rd_kafka_consume_batch_queue(
                self.0.as_ptr(),
                wait_ms,
                batch.records.as_mut_ptr().cast(),
                max,
            )
        };
        usize::try_from(taken).unwrap_or(0)
    }
}

impl Drop for RecordQueue {
    fn drop(&mut self) {
        // SAFETY: the queue reference taken in `of`, released once.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

/// Records taken from a [`RecordQueue`], given out in order; each is released to librdkafka
/// when the batch is refilled or dropped.
pub(crate) struct Batch {
    records: Vec<NonNull<rdsys::rd_kafka_message_t>>,
    /// How many were given out.
    next: usize,
}

// SAFETY: librdkafka's messages may be read and released from any thread.
unsafe impl Send for Batch {}

impl Batch {
    /// An empty batch that takes up to `capacity` records at a time.
    pub(crate) fn with_capacity(capacity: usize) -> Batch {
        Batch {
            records: Vec::with_capacity(capacity.max(1)),
            next: 0,
        }
    }

    /// The next record not yet given out, if the batch has one.
    pub(crate) fn peek(&self) -> Option<FetchedRecord<'_>> {
        self.records.get(self.next).map(|record| FetchedRecord {
            // SAFETY: a message the batch owns, released only by `clear`.
            message: unsafe { record.as_ref() },
        })
    }

    /// Moves past the record [`Batch::peek`] gives.
    pub(crate) fn advance(&mut self) {
        self.next = (self.next + 1).min(self.records.len());
    }

    fn clear(&mut self) {
        for record in self.records.drain(..) {
            // SAFETY: each message is released once, here, after which no borrow remains.
            unsafe { rdsys::rd_kafka_message_destroy(record.as_ptr()) }
        }
        self.next = 0;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.clear();
    }
}

/// One record of a [`Batch`], or the error the consumer gave in its place.
pub(crate) struct FetchedRecord<'a> {
    message: &'a rdsys::rd_kafka_message_t,
}

impl FetchedRecord<'_> {
    /// Why the consumer failed, if this is an error and not a record.
    pub(crate) fn error(&self) -> Option<String> {
        if self.message.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return None;
        }
        // SAFETY: librdkafka gives a NUL-terminated string that lives as long as the message.
        let text = unsafe { CStr::from_ptr(rdsys::rd_kafka_message_errstr(self.message)) };
        Some(text.to_string_lossy().into_owned())
    }
}

/// The bytes at `data`, `len` long, if there are any.
///
/// # Safety
/// `data` is null or points to `len` bytes that live as long as `'a`.
unsafe fn bytes<'a>(data: *const std::ffi::c_void, len: usize) -> Option<&'a [u8]> {
    // SAFETY: as the caller promises.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data.cast(), len) })
}

impl Message for FetchedRecord<'_> {
    type Headers = FetchedHeaders;

    fn key(&self) -> Option<&[u8]> {
        // SAFETY: the key lives as long as the message.
        unsafe { bytes(self.message.key, self.message.key_len) }
    }

    fn payload(&self) -> Option<&[u8]> {
        // SAFETY: the payload lives as long as the message.
        unsafe { bytes(self.message.payload, self.message.len) }
    }

    unsafe fn payload_mut(&mut self) -> Option<&mut [u8]> {
        // Records are only read here.
        None
    }

    fn topic(&self) -> &str {
        // SAFETY: a fetched message's topic handle lives as long as the message, and its name
        // is NUL-terminated.
        let name = unsafe { CStr::from_ptr(rdsys::rd_kafka_topic_name(self.message.rkt)) };
        name.to_str().unwrap_or("")
    }

    fn partition(&self) -> i32 {
        self.message.partition
    }

    fn offset(&self) -> i64 {
        self.message.offset
    }

    fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a live message and a place for its timestamp's type.
        let millis = unsafe { rdsys::rd_kafka_message_timestamp(self.message, &mut kind) };
        match kind {
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => {
                Timestamp::CreateTime(millis)
            }
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => {
                Timestamp::LogAppendTime(millis)
            }
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE => {
                Timestamp::NotAvailable
            }
        }
    }

    fn headers(&self) -> Option<&FetchedHeaders> {
        let mut headers = std::ptr::null_mut();
        // SAFETY: a live message; the headers it gives live as long as it does.
        let err = unsafe { rdsys::rd_kafka_message_headers(self.message, &mut headers) };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || headers.is_null() {
            return None;
        }
        // SAFETY: `FetchedHeaders` is the opaque headers type itself (transparent), borrowed
        // for the message's life.
        Some(unsafe { &*(headers as *const FetchedHeaders) })
    }
}

/// A fetched record's headers, read in place.
#[repr(transparent)]
pub(crate) struct FetchedHeaders(rdsys::rd_kafka_headers_t);

impl Headers for FetchedHeaders {
    fn count(&self) -> usize {
        // SAFETY: live headers.
        unsafe { rdsys::rd_kafka_header_cnt(&self.0) }
    }

    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>> {
        let (mut name, mut value, mut len) = (std::ptr::null(), std::ptr::null(), 0);
        // SAFETY: live headers and places for the header's parts, which live as long as they.
        let err = unsafe {
            rdsys::rd_kafka_header_get_all(&self.0, idx, &mut name, &mut value, &mut len)
        };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return None;
        }
        // SAFETY: a NUL-terminated name and a value of `len` bytes (or none), both the
        // headers'.
        let key = unsafe { CStr::from_ptr(name) }.to_str().unwrap_or("");
        Some(Header {
            key,
            // SAFETY: as above.
            value: unsafe { bytes(value, len) },
        })
    }
}
