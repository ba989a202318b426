//! An application that depends on the `ember` facade knows every master ember provides, without
//! naming a cluster manager's crate itself.

#[test]
fn an_application_of_the_facade_knows_yarn() {
    let masters = ember::deploy::available_masters();
    assert!(masters.contains(&"yarn"), "{masters:?}");
    let master = ember::Master::parse("yarn").unwrap();
    assert!(
        matches!(
            master,
            ember::Master::External {
                manager: "yarn",
                ..
            }
        ),
        "{master:?}"
    );
}

#[test]
fn an_unknown_master_lists_yarn_among_the_masters() {
    let err = ember::Context::new(ember::EmberConf::empty().set_master("yarn-client"))
        .unwrap_err()
        .to_string();
    for form in ["local[N]", "local-cluster[E,C,M]", "yarn"] {
        assert!(err.contains(form), "{form} missing from {err}");
    }
}
