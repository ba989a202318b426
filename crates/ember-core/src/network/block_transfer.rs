//! Moving blocks between processes (Spark's `NettyBlockTransferService`).
//!
//! Every executor serves its shuffle files and stored task results through
//! [`BlockTransferService`]. Reduce tasks read remote map outputs through a [`SegmentFetcher`],
//! which keeps at most `ember.reducer.maxSizeInFlight` bytes requested but not yet consumed:
//!
//! 1. The segments to fetch are grouped by executor into requests of at most a fifth of that
//!    budget (several requests run at once, as in Spark); empty segments are skipped.
//! 2. A request starts once its bytes fit in the budget; its segments arrive as 1 MiB pieces.
//! 3. The task consumes segments in arrival order; a request's bytes return to the budget when its
//!    last segment is consumed.
//! 4. A request whose connection fails is retried `ember.shuffle.io.maxRetries` times,
//!    `ember.shuffle.io.retryWait` apart, for the segments not yet received. A segment the
//!    executor cannot read fails at once: the task reports a fetch failure and the scheduler
//!    reruns the map task.

use super::executor_link::ExecutorLink;
use super::rpc::block_transfer_client::BlockTransferClient;
use super::rpc::block_transfer_server::BlockTransfer;
use super::rpc::{BlockRequest, Bytes as BytesMessage, ShuffleSegment, ShuffleSegmentsRequest};
use super::{runtime, CHUNK, MAX_MESSAGE};
use crate::env::Env;
use crate::storage::BlockId;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Code, Request, Response, Status};

/// Task results too large to send with their status update, until the driver takes them.
#[derive(Debug, Default)]
pub(crate) struct StoredResults(Mutex<HashMap<String, Bytes>>);

impl StoredResults {
    pub(crate) fn put(&self, block: String, bytes: Vec<u8>) {
        self.0.lock().insert(block, bytes.into());
    }

    fn take(&self, block: &str) -> Option<Bytes> {
        self.0.lock().remove(block)
    }
}

/// The block server of one executor.
pub(crate) struct BlockTransferService {
    pub env: Arc<Env>,
    pub stored: Arc<StoredResults>,
}

#[tonic::async_trait]
impl BlockTransfer for BlockTransferService {
    type FetchShuffleSegmentsStream = ReceiverStream<Result<ShuffleSegment, Status>>;

    async fn fetch_shuffle_segments(
        &self,
        request: Request<ShuffleSegmentsRequest>,
    ) -> Result<Response<Self::FetchShuffleSegmentsStream>, Status> {
        let request = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        let env = self.env.clone();
        tokio::task::spawn_blocking(move || serve_segments(&env, &request, &tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn fetch_block(
        &self,
        request: Request<BlockRequest>,
    ) -> Result<Response<BytesMessage>, Status> {
        let block = request.into_inner().block_id;
        let broadcast = block
            .strip_prefix("broadcast_")
            .and_then(|id| id.parse::<u64>().ok());
        let found = match (BlockId::parse(&block), broadcast) {
            (Some(id), _) => self
                .env
                .block_manager
                .get_bytes(id)
                .map_err(|e| Status::internal(e.to_string()))?
                .map(Bytes::from),
            (None, Some(id)) => self
                .env
                .broadcast_manager
                .serialized(id)
                .ok()
                .map(Bytes::from),
            (None, None) => self.stored.take(&block),
        };
        match found {
            Some(data) => Ok(Response::new(BytesMessage { data })),
            None => Err(Status::not_found(format!(
                "block {block} is not stored on this executor"
            ))),
        }
    }
}

/// Reads the requested segments from disk and sends them in pieces; stops when the client goes.
fn serve_segments(
    env: &Env,
    request: &ShuffleSegmentsRequest,
    tx: &mpsc::Sender<Result<ShuffleSegment, Status>>,
) {
    let (shuffle, reduce) = (request.shuffle_id as usize, request.reduce_id as usize);
    for &map in &request.map_ids {
        let segment = match env
            .shuffle_manager
            .read_segment(shuffle, map as usize, reduce)
        {
            Ok(segment) => Bytes::from(segment),
            Err(e) => {
                let _ = tx.blocking_send(Err(Status::not_found(e.to_string())));
                return;
            }
        };
        let pieces = segment.len().div_ceil(CHUNK).max(1);
        for i in 0..pieces {
            let data = segment.slice(i * CHUNK..((i + 1) * CHUNK).min(segment.len()));
            let piece = ShuffleSegment {
                map_id: map,
                data,
                last: i + 1 == pieces,
            };
            if tx.blocking_send(Ok(piece)).is_err() {
                return;
            }
        }
    }
}

/// The segments of one executor's map outputs that one request fetches.
pub(crate) struct FetchRequest {
    pub address: String,
    /// `(map, segment size)`, sizes all above zero.
    pub maps: Vec<(usize, u64)>,
}

/// Splits `(address, map, size)` segments into requests of at most `target` bytes per executor.
pub(crate) fn plan_requests(segments: Vec<(String, usize, u64)>, target: u64) -> Vec<FetchRequest> {
    let mut by_address: Vec<(String, Vec<(usize, u64)>)> = Vec::new();
    for (address, map, size) in segments.into_iter().filter(|s| s.2 > 0) {
        match by_address.iter_mut().find(|(a, _)| *a == address) {
            Some((_, maps)) => maps.push((map, size)),
            None => by_address.push((address, vec![(map, size)])),
        }
    }
    let mut requests = Vec::new();
    for (address, maps) in by_address {
        let mut current: Vec<(usize, u64)> = Vec::new();
        let mut bytes = 0;
        for (map, size) in maps {
            if !current.is_empty() && bytes + size > target {
                requests.push(FetchRequest {
                    address: address.clone(),
                    maps: std::mem::take(&mut current),
                });
                bytes = 0;
            }
            current.push((map, size));
            bytes += size;
        }
        if !current.is_empty() {
            requests.push(FetchRequest {
                address,
                maps: current,
            });
        }
    }
    requests
}

/// One segment as the task receives it.
struct Fetched {
    map: usize,
    result: Result<Bytes, String>,
    /// Budget returned when this segment is consumed.
    release: usize,
}

/// Remote segments of one reduce partition, in arrival order (Spark's
/// `ShuffleBlockFetcherIterator`).
pub(crate) struct SegmentFetcher {
    rx: mpsc::UnboundedReceiver<Fetched>,
    budget: Arc<Semaphore>,
    remaining: usize,
}

impl SegmentFetcher {
    /// Starts fetching `requests` of reduce partition `reduce` of `shuffle`.
    pub(crate) fn start(
        link: &Arc<ExecutorLink>,
        shuffle: usize,
        reduce: usize,
        requests: Vec<FetchRequest>,
    ) -> Self {
        let max = link
            .fetch
            .max_bytes_in_flight
            .clamp(1, u32::MAX as u64 >> 4) as usize;
        let budget = Arc::new(Semaphore::new(max));
        let remaining = requests.iter().map(|r| r.maps.len()).sum();
        let (tx, rx) = mpsc::unbounded_channel();
        let (link, gate) = (link.clone(), budget.clone());
        runtime().spawn(async move {
            for request in requests {
                let want = (request.maps.iter().map(|m| m.1).sum::<u64>() as usize).min(max);
                let Ok(permit) = gate.clone().acquire_many_owned(want as u32).await else {
                    return;
                };
                // Given back by the consumer, not by dropping the permit.
                permit.forget();
                let run = RequestRun {
                    link: link.clone(),
                    shuffle,
                    reduce,
                    release: want,
                    tx: tx.clone(),
                };
                tokio::spawn(run.fetch(request));
            }
        });
        SegmentFetcher {
            rx,
            budget,
            remaining,
        }
    }
}

impl Iterator for SegmentFetcher {
    type Item = (usize, Result<Bytes, String>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let fetched = self.rx.blocking_recv()?;
        self.remaining -= 1;
        self.budget.add_permits(fetched.release);
        Some((fetched.map, fetched.result))
    }
}

/// One request on its way.
struct RequestRun {
    link: Arc<ExecutorLink>,
    shuffle: usize,
    reduce: usize,
    release: usize,
    tx: mpsc::UnboundedSender<Fetched>,
}

impl RequestRun {
    async fn fetch(self, request: FetchRequest) {
        let mut pending: VecDeque<usize> = request.maps.iter().map(|m| m.0).collect();
        let settings = &self.link.fetch;
        let mut retries = 0;
        let error = loop {
            match self.stream(&request.address, &mut pending).await {
                Ok(()) => return,
                Err(status) if transient(&status) && retries < settings.max_retries => {
                    retries += 1;
                    tracing::warn!(
                        "fetching shuffle {} from {} failed ({}); retry {retries} of {} in {:?}",
                        self.shuffle,
                        request.address,
                        status.message(),
                        settings.max_retries,
                        settings.retry_wait
                    );
                    tokio::time::sleep(settings.retry_wait).await;
                }
                Err(status) => break format!("{}: {}", request.address, status.message()),
            }
        };
        while let Some(map) = pending.pop_front() {
            let release = if pending.is_empty() { self.release } else { 0 };
            let result = Err(error.clone());
            let _ = self.tx.send(Fetched {
                map,
                result,
                release,
            });
        }
    }

    /// Streams the segments of `pending`, removing each one as it is delivered.
    async fn stream(&self, address: &str, pending: &mut VecDeque<usize>) -> Result<(), Status> {
        let channel = self
            .link
            .channel(address)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let mut client = BlockTransferClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
        let request = ShuffleSegmentsRequest {
            shuffle_id: self.shuffle as u64,
            reduce_id: self.reduce as u64,
            map_ids: pending.iter().map(|&m| m as u64).collect(),
        };
        let mut stream = client.fetch_shuffle_segments(request).await?.into_inner();
        let mut current = BytesMut::new();
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            if pending.front() != Some(&(piece.map_id as usize)) {
                return Err(Status::internal("segments arrived out of order"));
            }
            current.extend_from_slice(&piece.data);
            if piece.last {
                let map = pending.pop_front().unwrap_or_default();
                let release = if pending.is_empty() { self.release } else { 0 };
                let result = Ok(std::mem::take(&mut current).freeze());
                if self
                    .tx
                    .send(Fetched {
                        map,
                        result,
                        release,
                    })
                    .is_err()
                {
                    return Ok(()); // the task went away
                }
            }
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(Status::unavailable("the stream ended early"))
        }
    }
}

/// Connection trouble, worth a retry; anything else is final.
fn transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Aborted
    )
}

/// Reads block `block` from the executor `channel` leads to; a stored task result is taken
/// (removed there), a cached partition stays.
pub(crate) async fn read_block(
    channel: tonic::transport::Channel,
    block: String,
) -> Result<Bytes, Status> {
    let mut client = BlockTransferClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    let reply = client.fetch_block(BlockRequest { block_id: block }).await?;
    Ok(reply.into_inner().data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_group_segments_by_executor_up_to_the_target_size_and_skip_empty_ones() {
        let segments = vec![
            ("a:1".to_string(), 0, 40),
            ("b:2".to_string(), 1, 10),
            ("a:1".to_string(), 2, 0),
            ("a:1".to_string(), 3, 70),
            ("a:1".to_string(), 4, 20),
            ("b:2".to_string(), 5, 500),
        ];
        let requests = plan_requests(segments, 100);
        let shape: Vec<(&str, Vec<usize>)> = requests
            .iter()
            .map(|r| (r.address.as_str(), r.maps.iter().map(|m| m.0).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a:1", vec![0]),
                ("a:1", vec![3, 4]),
                ("b:2", vec![1]),
                ("b:2", vec![5]),
            ]
        );
    }
}
