//! The body every test of the benchmark suites runs: bind and connect a TCP
//! socket on 127.0.0.1, as a networking crate's test would.

use std::net::TcpListener;

use netns_tests::bounded::{PATIENCE, accept_within, connect_within};

pub(crate) fn body() {
    // A no-op where `lo` is up already; needed in the process-per-test
    // variant, which runs each test in a fresh namespace of `unshare -rn`.
    netns_core::bring_up_loopback().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = connect_within(listener.local_addr().unwrap(), PATIENCE).unwrap();
    let (server, _) = accept_within(&listener, PATIENCE).unwrap();
    drop((client, server));
}

/// Ten modules of twenty tests: 200 tests named `mN::tNN`.
#[macro_export]
macro_rules! two_hundred_tests {
    ($attr:meta) => {
        $crate::two_hundred_tests!(@mods $attr; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
    };
    (@mods $attr:meta; $($m:ident)*) => {$(
        mod $m {
            $crate::two_hundred_tests!(@fns $attr;
                t00 t01 t02 t03 t04 t05 t06 t07 t08 t09
                t10 t11 t12 t13 t14 t15 t16 t17 t18 t19);
        }
    )*};
    (@fns $attr:meta; $($t:ident)*) => {$(
        #[$attr]
        fn $t() {
            super::body::body();
        }
    )*};
}
