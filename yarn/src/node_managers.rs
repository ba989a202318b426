//! Starting containers on NodeManagers (Hadoop's `NMClient`).
//!
//! A NodeManager only talks to an ApplicationMaster that presents the NMToken the
//! ResourceManager issued for that node (SASL DIGEST-MD5, also on clusters without Kerberos);
//! the ResourceManager sends a node's token once, with the first container there, so tokens
//! are kept per node. Each start also carries the container's own token, unchanged.

use crate::error::{Error, Result};
use crate::proto;
use crate::records::ContainerId;
use ember_hadoop::ipc::{Auth, Protection, RpcClient};
use ember_hadoop::tokens::Token;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const PROTOCOL: &str = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";

/// The NodeManagers of one application attempt.
pub(crate) struct NodeManagers {
    /// By `host:port`: the latest token, and a client using it.
    nodes: Mutex<HashMap<String, Node>>,
    /// What the clients accept (`hadoop.rpc.protection`).
    protection: Protection,
}

struct Node {
    token: Token,
    client: Arc<RpcClient>,
}

impl NodeManagers {
    pub(crate) fn new(protection: Protection) -> Self {
        NodeManagers {
            nodes: Mutex::new(HashMap::new()),
            protection,
        }
    }

    /// Keeps the NMTokens of an allocate response.
    pub(crate) fn add_tokens(&self, tokens: &[proto::NmToken]) {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        for nm in tokens {
            let (Some(node), Some(token)) = (&nm.node_id, &nm.token) else {
                continue;
            };
            let address = node_address(node);
            let token = Token::from_proto(token);
            let fresh = nodes.get(&address).is_none_or(|n| n.token != token);
            if fresh {
                let client = RpcClient::new(&address, PROTOCOL, Auth::Token(token.clone()))
                    .with_protection(self.protection.clone());
                nodes.insert(
                    address,
                    Node {
                        token,
                        client: Arc::new(client),
                    },
                );
            }
        }
    }

    /// Starts `container` with `context`.
    ///
    /// # Errors
    /// No NMToken for its node, the NodeManager cannot be reached, or it refused.
    pub(crate) async fn start(
        &self,
        container: &proto::Container,
        context: proto::ContainerLaunchContext,
    ) -> Result<()> {
        let node = container.node_id.clone().unwrap_or_default();
        let address = node_address(&node);
        let client = self
            .nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&address)
            .map(|n| n.client.clone())
            .ok_or_else(|| {
                Error::Failed(format!(
                    "no NMToken for {address}: the ResourceManager sent none for this node"
                ))
            })?;
        let request = proto::StartContainersRequest {
            start_container_request: vec![proto::StartContainerRequest {
                container_launch_context: Some(context),
                container_token: container.container_token.clone(),
            }],
        };
        let answer: proto::StartContainersResponse =
            client.call("startContainers", &request).await?;
        match answer.failed_requests.first() {
            None => Ok(()),
            Some(failed) => Err(Error::Failed(format!(
                "{address} did not start {}: {}",
                failed
                    .container_id
                    .as_ref()
                    .map(|c| ContainerId::from_proto(c).to_string())
                    .unwrap_or_default(),
                failed
                    .exception
                    .as_ref()
                    .and_then(|e| e.message.clone())
                    .unwrap_or_default()
            ))),
        }
    }
}

/// `host:port` of a node.
pub(crate) fn node_address(node: &proto::NodeId) -> String {
    format!("{}:{}", node.host(), node.port())
}
