//! An executor's connections: to its driver, and to other executors' block servers.

use super::block_transfer::read_block;
use super::rpc::driver_client::DriverClient;
use super::rpc::{
    AskCommitRequest, BlockLocationsRequest, BroadcastRequest, EndpointRequest, MapStatusesRequest,
};
use super::{channel, rpc_error, runtime, MAX_MESSAGE};
use crate::conf::{keys, EmberConf};
use crate::error::Result;
use crate::scheduler::CommitAsk;
use crate::shuffle::MapStatus;
use crate::storage::BlockId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;
use tonic::transport::Channel;

/// How reduce tasks fetch remote shuffle data.
#[derive(Debug, Clone)]
pub(crate) struct FetchSettings {
    pub max_bytes_in_flight: u64,
    pub max_retries: usize,
    pub retry_wait: Duration,
}

impl FetchSettings {
    pub(crate) fn from_conf(conf: &EmberConf) -> Result<Self> {
        Ok(FetchSettings {
            max_bytes_in_flight: conf.require(&keys::REDUCER_MAX_SIZE_IN_FLIGHT)?,
            max_retries: conf.require(&keys::SHUFFLE_IO_MAX_RETRIES)?,
            retry_wait: conf.require(&keys::SHUFFLE_IO_RETRY_WAIT)?,
        })
    }
}

/// What an executor's tasks use to reach beyond their process.
#[derive(Debug)]
pub(crate) struct ExecutorLink {
    driver_address: String,
    driver: DriverClient<Channel>,
    /// Where this executor's own block server listens.
    pub block_address: String,
    pub fetch: FetchSettings,
    channels: Mutex<HashMap<String, Channel>>,
}

impl ExecutorLink {
    pub(crate) fn new(
        driver_address: &str,
        block_address: String,
        fetch: FetchSettings,
    ) -> Result<Self> {
        let driver = DriverClient::new(channel(driver_address)?)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        Ok(ExecutorLink {
            driver_address: driver_address.into(),
            driver,
            block_address,
            fetch,
            channels: Mutex::new(HashMap::new()),
        })
    }

    /// A channel to the block server at `address`, shared by every task of this executor.
    pub(crate) fn channel(&self, address: &str) -> Result<Channel> {
        if let Some(c) = self.channels.lock().get(address) {
            return Ok(c.clone());
        }
        let c = channel(address)?;
        self.channels.lock().insert(address.into(), c.clone());
        Ok(c)
    }

    /// Where every map output of `shuffle` is, asked of the driver.
    pub(crate) fn map_statuses(&self, shuffle: usize) -> Result<Option<Vec<Option<MapStatus>>>> {
        let mut driver = self.driver.clone();
        let request = MapStatusesRequest {
            shuffle_id: shuffle as u64,
        };
        let reply = runtime()
            .block_on(driver.get_map_statuses(request))
            .map_err(|s| rpc_error(&self.driver_address, s))?;
        Ok(bincode::deserialize(&reply.into_inner().data)?)
    }

    /// Whether an attempt may commit its output, asked of the driver.
    pub(crate) fn ask_commit(&self, ask: &CommitAsk) -> Result<bool> {
        let mut driver = self.driver.clone();
        let request = AskCommitRequest {
            stage_id: ask.stage as u64,
            stage_attempt: ask.stage_attempt as u64,
            partition: ask.partition as u64,
            task_attempt_id: ask.task_attempt_id,
        };
        let reply = runtime()
            .block_on(driver.ask_commit(request))
            .map_err(|s| rpc_error(&self.driver_address, s))?;
        Ok(reply.into_inner().allowed)
    }

    /// The reply of the driver's endpoint `endpoint` to `request`, asked by executor `me`.
    pub(crate) fn ask_endpoint(
        &self,
        endpoint: &str,
        me: &str,
        request: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let mut driver = self.driver.clone();
        let request = EndpointRequest {
            endpoint: endpoint.to_string(),
            executor_id: me.to_string(),
            payload: request.into(),
        };
        let reply = runtime()
            .block_on(driver.ask_endpoint(request))
            .map_err(|s| rpc_error(&self.driver_address, s))?;
        Ok(reply.into_inner().data.to_vec())
    }

    /// Block `id` from the executor whose block server is at `address`; failures (the block or
    /// the executor gone) are logged and yield `None`.
    pub(crate) fn fetch_block_from(&self, address: &str, id: BlockId) -> Option<bytes::Bytes> {
        let channel = self.channel(address).ok()?;
        match runtime().block_on(read_block(channel, id.name())) {
            Ok(bytes) => Some(bytes),
            Err(status) => {
                tracing::debug!(
                    "block {} not fetched from {address}: {}",
                    id.name(),
                    status.message()
                );
                None
            }
        }
    }

    /// Broadcast `id`'s serialized value for executor `me`: from an executor that holds it when
    /// the driver names one (as Spark's torrent broadcast spreads the load), else from the
    /// driver.
    pub(crate) fn broadcast(&self, id: u64, me: &str) -> Result<Vec<u8>> {
        let ask = |from_driver: bool| {
            let mut driver = self.driver.clone();
            let request = BroadcastRequest {
                broadcast_id: id,
                executor_id: me.to_string(),
                from_driver,
            };
            runtime()
                .block_on(driver.get_broadcast(request))
                .map(tonic::Response::into_inner)
                .map_err(|s| rpc_error(&self.driver_address, s))
        };
        let reply = ask(false)?;
        for holder in reply.holders.iter().filter(|h| h.executor_id != me) {
            let Ok(channel) = self.channel(&holder.address) else {
                continue;
            };
            match runtime().block_on(read_block(channel, format!("broadcast_{id}"))) {
                Ok(bytes) => return Ok(bytes.to_vec()),
                Err(status) => tracing::debug!(
                    "broadcast {id} not fetched from executor {}: {}",
                    holder.executor_id,
                    status.message()
                ),
            }
        }
        if reply.holders.is_empty() {
            return Ok(reply.data.to_vec());
        }
        Ok(ask(true)?.data.to_vec())
    }

    /// Cached block `id` from another executor than `me` that holds it, in byte form. Failures
    /// are logged and yield `None`: the caller computes the block instead.
    pub(crate) fn fetch_cached_block(&self, id: BlockId, me: &str) -> Option<bytes::Bytes> {
        let BlockId::Rdd { rdd, partition } = id else {
            return None;
        };
        let request = BlockLocationsRequest {
            rdd_id: rdd as u64,
            partition: partition as u64,
        };
        let mut driver = self.driver.clone();
        let locations = match runtime().block_on(driver.get_block_locations(request)) {
            Ok(reply) => reply.into_inner().locations,
            Err(status) => {
                tracing::warn!(
                    "cannot ask the driver where {} is: {}",
                    id.name(),
                    status.message()
                );
                return None;
            }
        };
        for location in locations.into_iter().filter(|l| l.executor_id != me) {
            let fetched = self
                .channel(&location.address)
                .ok()
                .map(|c| runtime().block_on(read_block(c, id.name())));
            match fetched {
                Some(Ok(bytes)) => return Some(bytes),
                Some(Err(status)) => tracing::debug!(
                    "block {} not fetched from executor {}: {}",
                    id.name(),
                    location.executor_id,
                    status.message()
                ),
                None => {}
            }
        }
        None
    }
}
