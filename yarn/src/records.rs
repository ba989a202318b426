//! YARN's ids as users see them: `application_<cluster start>_<seq>` and
//! `container_[e<epoch>_]<cluster start>_<app>_<attempt>_<seq>`, to and from the protocol's
//! messages.

use crate::error::{Error, Result};
use crate::proto;
use std::fmt;

/// An application's id, such as `application_1700000000000_0007`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApplicationId {
    /// When the ResourceManager started, in ms since the epoch.
    pub cluster_timestamp: i64,
    /// The application's number in that ResourceManager's life.
    pub id: i32,
}

impl ApplicationId {
    /// Parses `application_<cluster timestamp>_<id>`.
    ///
    /// ```
    /// use ember_yarn::ApplicationId;
    /// let id: ApplicationId = "application_1700000000000_0007".parse().unwrap();
    /// assert_eq!(id.id, 7);
    /// assert_eq!(id.to_string(), "application_1700000000000_0007");
    /// assert!("app_1".parse::<ApplicationId>().is_err());
    /// ```
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix("application_")?.split('_');
        let id = ApplicationId {
            cluster_timestamp: parts.next()?.parse().ok()?,
            id: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(id)
    }

    pub(crate) fn to_proto(self) -> proto::ApplicationId {
        proto::ApplicationId {
            id: Some(self.id),
            cluster_timestamp: Some(self.cluster_timestamp),
        }
    }

    pub(crate) fn from_proto(id: &proto::ApplicationId) -> Self {
        ApplicationId {
            cluster_timestamp: id.cluster_timestamp(),
            id: id.id(),
        }
    }
}

impl std::str::FromStr for ApplicationId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| {
            Error::Usage(format!(
                "{text} is not an application id; they look like application_1700000000000_0007"
            ))
        })
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "application_{}_{:04}", self.cluster_timestamp, self.id)
    }
}

/// A container's id, as YARN gives it to the container in `CONTAINER_ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerId {
    /// The application.
    pub application: ApplicationId,
    /// The application attempt the container belongs to.
    pub attempt: i32,
    /// The container's number, with the ResourceManager's epoch above bit 40.
    pub id: i64,
}

impl ContainerId {
    /// Parses `container_[e<epoch>_]<cluster timestamp>_<app>_<attempt>_<seq>`.
    ///
    /// ```
    /// use ember_yarn::ContainerId;
    /// let id: ContainerId = "container_e17_1410901177871_0001_01_000005".parse().unwrap();
    /// assert_eq!(id.id, (17 << 40) | 5);
    /// assert_eq!(id.attempt, 1);
    /// assert_eq!(id.to_string(), "container_e17_1410901177871_0001_01_000005");
    /// ```
    fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("container_")?;
        let (epoch, rest) = match rest.strip_prefix('e') {
            Some(with_epoch) => {
                let (epoch, rest) = with_epoch.split_once('_')?;
                (epoch.parse::<i64>().ok()?, rest)
            }
            None => (0, rest),
        };
        let fields: Vec<&str> = rest.split('_').collect();
        let [timestamp, app, attempt, sequence] = fields[..] else {
            return None;
        };
        Some(ContainerId {
            application: ApplicationId {
                cluster_timestamp: timestamp.parse().ok()?,
                id: app.parse().ok()?,
            },
            attempt: attempt.parse().ok()?,
            id: (epoch << 40) | sequence.parse::<i64>().ok()?,
        })
    }

    pub(crate) fn from_proto(id: &proto::ContainerId) -> Self {
        let attempt = id.app_attempt_id.as_ref();
        let application = attempt
            .and_then(|a| a.application_id.as_ref())
            .or(id.app_id.as_ref())
            .map(ApplicationId::from_proto)
            .unwrap_or(ApplicationId {
                cluster_timestamp: 0,
                id: 0,
            });
        ContainerId {
            application,
            attempt: attempt.map_or(0, |a| a.attempt_id()),
            id: id.id(),
        }
    }
}

impl std::str::FromStr for ContainerId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| Error::Usage(format!("{text} is not a container id")))
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let epoch = self.id >> 40;
        let sequence = self.id & ((1 << 40) - 1);
        let app = self.application;
        f.write_str("container_")?;
        if epoch > 0 {
            write!(f, "e{epoch:02}_")?;
        }
        write!(
            f,
            "{}_{:04}_{:02}_{sequence:06}",
            app.cluster_timestamp, app.id, self.attempt
        )
    }
}

/// Memory (MiB) and cores of a container.
pub(crate) fn resource(memory_mib: u64, cores: usize) -> proto::Resource {
    proto::Resource {
        memory: Some(memory_mib as i64),
        virtual_cores: Some(cores as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_without_an_epoch_round_trip() {
        let text = "container_1700000000000_0012_02_000003";
        let id: ContainerId = text.parse().unwrap();
        assert_eq!(id.application.id, 12);
        assert_eq!(id.attempt, 2);
        assert_eq!(id.id, 3);
        assert_eq!(id.to_string(), text);
        assert!("container_1_2_3".parse::<ContainerId>().is_err());
    }
}
