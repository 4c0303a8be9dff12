use netns_test::{NetNs, netns_test};

// Every mistake is reported in one build, not one per build.
#[netns_test(lopback = false, loopback = "no")]
fn several<T>(ns: &NetNs, extra: T) {
    let _ = (ns, extra);
}

fn main() {}
