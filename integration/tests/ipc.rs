//! ember's Hadoop IPC client against the mini cluster's ResourceManager: a call with SIMPLE
//! authentication, pings while calls wait, the server's exceptions as errors, and TOKEN
//! authentication (SASL DIGEST-MD5) refused for a token the server never issued.

use ember_hadoop::ipc::{Auth, RpcClient};
use ember_hadoop::tokens::Token;
use ember_hadoop::Error;

const CLIENT_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";
const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

/// `GetClusterMetricsRequestProto`: no fields.
#[derive(Clone, PartialEq, prost::Message)]
struct GetClusterMetricsRequest {}

/// `GetClusterMetricsResponseProto`, as far as this test reads it.
#[derive(Clone, PartialEq, prost::Message)]
struct GetClusterMetricsResponse {
    #[prost(message, optional, tag = "1")]
    cluster_metrics: Option<ClusterMetrics>,
}

/// `YarnClusterMetricsProto`: `num_node_managers` is field 1.
#[derive(Clone, PartialEq, prost::Message)]
struct ClusterMetrics {
    #[prost(int32, optional, tag = "1")]
    num_node_managers: Option<i32>,
}

fn yarn_address(key: &str) -> String {
    ember_integration::hadoop_conf()
        .get(key)
        .unwrap_or_else(|| panic!("{key} is in the mini cluster's yarn-site.xml"))
}

fn simple(address: &str, protocol: &str) -> RpcClient {
    RpcClient::new(
        address,
        protocol,
        Auth::Simple {
            user: "ember".into(),
        },
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn the_resource_manager_answers_a_simple_call() {
    let client = simple(
        &yarn_address("yarn.resourcemanager.address"),
        CLIENT_PROTOCOL,
    );
    let rt = runtime();
    for _ in 0..2 {
        // Twice over the same connection: call ids advance, the connection stays usable.
        let answer: GetClusterMetricsResponse = rt
            .block_on(client.call("getClusterMetrics", &GetClusterMetricsRequest {}))
            .unwrap();
        let metrics = answer.cluster_metrics.expect("cluster metrics");
        assert_eq!(metrics.num_node_managers, Some(3));
    }
}

#[test]
fn the_server_takes_pings_between_calls() {
    // A frame the server did not take would end the connection with a fatal answer.
    let client = simple(
        &yarn_address("yarn.resourcemanager.address"),
        CLIENT_PROTOCOL,
    );
    let rt = runtime();
    for _ in 0..3 {
        rt.block_on(client.ping()).unwrap();
        rt.block_on(client.ping()).unwrap();
        let answer: GetClusterMetricsResponse = rt
            .block_on(client.call("getClusterMetrics", &GetClusterMetricsRequest {}))
            .unwrap();
        assert_eq!(answer.cluster_metrics.unwrap().num_node_managers, Some(3));
    }
}

#[test]
fn server_exceptions_and_dead_servers_are_errors_that_say_so() {
    let rt = runtime();
    let client = simple(
        &yarn_address("yarn.resourcemanager.address"),
        CLIENT_PROTOCOL,
    );
    let err = rt
        .block_on(
            client
                .call::<_, GetClusterMetricsResponse>("noSuchMethod", &GetClusterMetricsRequest {}),
        )
        .unwrap_err();
    match &err {
        Error::Remote { class, .. } => assert!(class.contains("NoSuchMethod"), "{err}"),
        other => panic!("expected the server's exception, got {other}"),
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = simple(&format!("127.0.0.1:{port}"), CLIENT_PROTOCOL);
    let err = rt
        .block_on(dead.call::<_, GetClusterMetricsResponse>(
            "getClusterMetrics",
            &GetClusterMetricsRequest {},
        ))
        .unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err}");
    assert!(err.to_string().contains("cannot reach 127.0.0.1"), "{err}");
}

#[test]
fn the_scheduler_port_wants_a_token_and_refuses_a_forged_one() {
    let rt = runtime();
    let scheduler = yarn_address("yarn.resourcemanager.scheduler.address");
    // SIMPLE is not enough for the scheduler, even on a cluster without Kerberos.
    let err = rt
        .block_on(
            simple(&scheduler, AM_PROTOCOL)
                .call::<_, GetClusterMetricsResponse>("allocate", &GetClusterMetricsRequest {}),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("SIMPLE authentication is not enabled")
            || err.to_string().contains("AccessControlException"),
        "{err}"
    );
    // A token it never issued goes through SASL negotiation and is turned down there.
    let forged = Token {
        identifier: vec![1; 40],
        password: vec![2; 20],
        kind: "YARN_AM_RM_TOKEN".into(),
        service: scheduler.clone(),
    };
    let client = RpcClient::new(&scheduler, AM_PROTOCOL, Auth::Token(forged));
    let err = rt
        .block_on(
            client.call::<_, GetClusterMetricsResponse>("allocate", &GetClusterMetricsRequest {}),
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&scheduler), "{text}");
    // The server read the identifier out of the DIGEST-MD5 response, and did not know it.
    assert!(
        text.contains("InvalidToken") && text.contains("AMRMTokenSecretManager"),
        "{text}"
    );
}
