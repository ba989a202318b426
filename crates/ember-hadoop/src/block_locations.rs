//! Where the blocks of an HDFS file live (Hadoop's `FileSystem.getFileBlockLocations`), asked of
//! the NameNode through WebHDFS (`GETFILEBLOCKLOCATIONS`), since the HDFS client crate keeps
//! its block locations to itself.
//!
//! The NameNode's HTTP address comes from the configuration: `dfs.namenode.http-address` for a
//! single NameNode, `dfs.namenode.http-address.<nameservice>.<id>` for each NameNode of an HA
//! name service (tried in order: a standby answers with an error). Hosts are the names the
//! DataNodes registered with, as Hadoop reports them.

use crate::conf::HadoopConf;
use crate::error::{Error, Result};

/// One block of a file: its byte range and the hosts holding a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLocation {
    /// Offset of the block in the file.
    pub offset: u64,
    /// Bytes in the block.
    pub length: u64,
    /// Hosts with a replica, as the DataNodes named themselves.
    pub hosts: Vec<String>,
}

/// The blocks of `path` on the HDFS named by `authority` (`host:port` or a name service).
///
/// # Errors
/// No NameNode answered, or its answer is not a block list.
pub async fn block_locations(
    conf: &HadoopConf,
    authority: &str,
    path: &str,
    length: u64,
) -> Result<Vec<BlockLocation>> {
    let client = reqwest::Client::new();
    let mut last = String::from("no NameNode HTTP address is configured");
    for address in http_addresses(conf, authority) {
        let url = format!(
            "http://{address}/webhdfs/v1/{}?op=GETFILEBLOCKLOCATIONS&offset=0&length={length}",
            path.trim_start_matches('/')
        );
        match fetch(&client, &url).await {
            Ok(blocks) => return Ok(blocks),
            Err(message) => last = format!("{url}: {message}"),
        }
    }
    Err(Error::Store {
        url: format!("hdfs://{authority}/{}", path.trim_start_matches('/')),
        message: format!("cannot get block locations ({last})"),
    })
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
) -> std::result::Result<Vec<BlockLocation>, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    parse(&body)
}

fn parse(body: &str) -> std::result::Result<Vec<BlockLocation>, String> {
    let json: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let blocks = json["BlockLocations"]["BlockLocation"]
        .as_array()
        .ok_or("no BlockLocations.BlockLocation array in the answer")?;
    blocks
        .iter()
        .map(|b| {
            let number = |key: &str| b[key].as_u64().ok_or(format!("no {key} in a block"));
            let hosts = b["hosts"]
                .as_array()
                .ok_or("no hosts in a block")?
                .iter()
                .filter_map(|h| h.as_str().map(str::to_string))
                .collect();
            Ok(BlockLocation {
                offset: number("offset")?,
                length: number("length")?,
                hosts,
            })
        })
        .collect()
}

/// The NameNode HTTP addresses of `authority`, in the order to try them.
fn http_addresses(conf: &HadoopConf, authority: &str) -> Vec<String> {
    let per_namenode: Vec<String> = conf
        .namenode_addresses(authority)
        .into_iter()
        .filter_map(|(id, _)| conf.get(&format!("dfs.namenode.http-address.{authority}.{id}")))
        .collect();
    if !per_namenode.is_empty() {
        return per_namenode;
    }
    let host = authority.split(':').next().unwrap_or(authority);
    vec![conf
        .get("dfs.namenode.http-address")
        .filter(|a| !a.starts_with("0.0.0.0"))
        .unwrap_or_else(|| format!("{host}:9870"))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhdfs_answers_parse_into_blocks() {
        let body = r#"{"BlockLocations":{"BlockLocation":[
            {"hosts":["127.0.0.2","127.0.0.3"],"length":1048576,"offset":0,"names":[]},
            {"hosts":["127.0.0.4"],"length":10,"offset":1048576}]}}"#;
        let blocks = parse(body).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].hosts, ["127.0.0.2", "127.0.0.3"]);
        assert_eq!(blocks[1].offset, 1 << 20);
        assert!(parse(r#"{"RemoteException":{}}"#).is_err());
    }

    #[test]
    fn http_addresses_follow_ha_settings_or_the_single_namenode() {
        let mut conf = HadoopConf::empty();
        conf.set("dfs.namenode.http-address", "nn:50070");
        assert_eq!(http_addresses(&conf, "nn:8020"), ["nn:50070"]);
        conf.set("dfs.ha.namenodes.prod", "a,b");
        conf.set("dfs.namenode.rpc-address.prod.a", "a:8020");
        conf.set("dfs.namenode.rpc-address.prod.b", "b:8020");
        conf.set("dfs.namenode.http-address.prod.a", "a:9870");
        conf.set("dfs.namenode.http-address.prod.b", "b:9870");
        assert_eq!(http_addresses(&conf, "prod"), ["a:9870", "b:9870"]);
        assert_eq!(http_addresses(&HadoopConf::empty(), "h:8020"), ["h:9870"]);
    }
}
