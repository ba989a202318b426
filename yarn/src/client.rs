//! The ResourceManager's client protocol (Hadoop's `YarnClient`): new application ids,
//! submission, reports and kills.

use crate::error::{Error, Result};
use crate::proto;
use crate::records::ApplicationId;
use ember_hadoop::ipc::{Auth, RpcClient};
use ember_hadoop::HadoopConf;

const PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";

/// A client of the ResourceManager, as the user running it (SIMPLE authentication).
#[derive(Debug)]
pub struct YarnClient {
    rpc: RpcClient,
}

/// A new application's id and the largest container the cluster can run: what the scheduler
/// grants at most, and what its largest NodeManager holds.
#[derive(Debug, Clone, Copy)]
pub struct NewApplication {
    /// The id.
    pub id: ApplicationId,
    /// The largest container memory, MiB.
    pub max_memory_mib: u64,
    /// The most cores of one container.
    pub max_cores: usize,
}

impl YarnClient {
    /// A client of the ResourceManager at `yarn.resourcemanager.address`.
    ///
    /// # Errors
    /// The configuration names no ResourceManager.
    pub fn new(conf: &HadoopConf) -> Result<Self> {
        let address = resource_manager_address(conf, "yarn.resourcemanager.address", 8032)?;
        Ok(YarnClient {
            rpc: RpcClient::new(
                &address,
                PROTOCOL,
                Auth::Simple {
                    user: ember_hadoop::user_name(),
                },
            ),
        })
    }

    /// The ResourceManager's address.
    pub fn address(&self) -> &str {
        self.rpc.address()
    }

    /// Asks for a new application id.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached or refuses.
    pub async fn new_application(&self) -> Result<NewApplication> {
        let answer: proto::GetNewApplicationResponse = self
            .rpc
            .call("getNewApplication", &proto::GetNewApplicationRequest {})
            .await?;
        let id = answer.application_id.as_ref().ok_or_else(|| {
            Error::Failed(format!(
                "{}: no application id in the answer",
                self.address()
            ))
        })?;
        let mut max = answer.maximum_capability.unwrap_or_default();
        // A container must also fit on a NodeManager: the scheduler's maximum may be larger
        // than any node.
        let nodes = self.running_nodes().await?;
        let largest = |f: fn(&proto::Resource) -> i64| {
            nodes
                .iter()
                .filter_map(|n| n.capability.as_ref().map(f))
                .max()
        };
        if let Some(memory) = largest(|r| r.memory()) {
            max.memory = Some(max.memory().min(memory));
        }
        if let Some(cores) = largest(|r| i64::from(r.virtual_cores())) {
            max.virtual_cores = Some(max.virtual_cores().min(cores as i32));
        }
        Ok(NewApplication {
            id: ApplicationId::from_proto(id),
            max_memory_mib: max.memory().max(0) as u64,
            max_cores: max.virtual_cores().max(0) as usize,
        })
    }

    /// The running NodeManagers.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached or refuses.
    pub async fn running_nodes(&self) -> Result<Vec<proto::NodeReport>> {
        let request = proto::GetClusterNodesRequest {
            node_states: vec![proto::NodeState::NsRunning as i32],
        };
        let answer: proto::GetClusterNodesResponse =
            self.rpc.call("getClusterNodes", &request).await?;
        Ok(answer.node_reports)
    }

    /// Submits an application.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached or refuses the submission.
    pub async fn submit(&self, context: proto::ApplicationSubmissionContext) -> Result<()> {
        let request = proto::SubmitApplicationRequest {
            application_submission_context: Some(context),
        };
        let _: proto::SubmitApplicationResponse =
            self.rpc.call("submitApplication", &request).await?;
        Ok(())
    }

    /// The ResourceManager's report of an application.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached or does not know the application.
    pub async fn report(&self, id: ApplicationId) -> Result<proto::ApplicationReport> {
        let request = proto::GetApplicationReportRequest {
            application_id: Some(id.to_proto()),
        };
        let answer: proto::GetApplicationReportResponse =
            self.rpc.call("getApplicationReport", &request).await?;
        answer
            .application_report
            .ok_or_else(|| Error::Failed(format!("no report of {id}")))
    }

    /// Kills an application; true once YARN has finished killing it.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached or does not know the application.
    pub async fn kill(&self, id: ApplicationId, diagnostics: &str) -> Result<bool> {
        let request = proto::KillApplicationRequest {
            application_id: Some(id.to_proto()),
            diagnostics: Some(diagnostics.to_string()),
        };
        let answer: proto::KillApplicationResponse =
            self.rpc.call("forceKillApplication", &request).await?;
        Ok(answer.is_kill_completed())
    }
}

/// A ResourceManager address from the configuration: `key`, else
/// `yarn.resourcemanager.hostname` with `port`.
///
/// # Errors
/// Neither is set.
pub(crate) fn resource_manager_address(conf: &HadoopConf, key: &str, port: u16) -> Result<String> {
    if let Some(address) = conf.get(key).filter(|a| !a.starts_with("0.0.0.0")) {
        return Ok(address);
    }
    match conf.get("yarn.resourcemanager.hostname") {
        Some(host) => Ok(format!("{host}:{port}")),
        None => Err(Error::Usage(format!(
            "no ResourceManager is configured: set {key} or yarn.resourcemanager.hostname in \
             yarn-site.xml, and HADOOP_CONF_DIR to its directory"
        ))),
    }
}
