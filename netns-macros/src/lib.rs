//! The `#[netns_test]` attribute macro.
//!
//! Use this through netns-test, which re-exports the attribute, documents it
//! and provides the runtime the expansion calls into; on its own this crate
//! expands to code that does not compile.

mod config;
mod errors;
mod expand;
mod signature;

use proc_macro::TokenStream;

/// Runs the test in a fresh network namespace; see the netns-test crate for
/// the documentation.
#[proc_macro_attribute]
pub fn netns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::netns_test(args.into(), item.into()).into()
}
