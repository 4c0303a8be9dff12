// A crate that reaches netns-test through a re-export names it with `crate`.
mod reexport {
    pub use netns_test::*;
}

use reexport::netns_test;

#[netns_test(crate = reexport)]
fn relative_path() {}

#[netns_test(crate = crate::reexport)]
fn crate_path() {}

#[netns_test(crate = "crate::reexport")]
fn string_path() {}

#[netns_test(crate = ::netns_test)]
fn absolute_path() {}

fn main() {}
