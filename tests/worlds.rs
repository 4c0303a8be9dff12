//! Small tests whose point is how they behave where network namespaces are
//! unavailable. In the other worlds they simply pass. CI runs this binary
//! as uid 65534 with user namespaces disabled and checks that:
//!
//! - every test fails, with the actionable message — including the
//!   `#[should_panic]` ones, which the harness's own panic must not pass;
//! - with `NETNS_TEST_UNSUPPORTED=skip`, every test passes with a
//!   `skipped:` line.

use netns_test::netns_test;

#[netns_test]
fn binds_port_80() {
    std::net::TcpListener::bind("127.0.0.1:80").unwrap();
}

#[netns_test]
fn returns_ok() -> Result<(), String> {
    Ok(())
}

#[netns_test]
#[should_panic]
fn expects_any_panic() {
    panic!("from the body");
}

#[netns_test]
#[should_panic(expected = "from the body")]
fn expects_a_panic_with_text() {
    panic!("from the body");
}
