//! Which of the user's attributes go where: the expansion has the test fn,
//! the body fn beside it, and sometimes a `const` that checks the
//! parameter's type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Attribute, Meta, Token};

/// Lint levels: they decide how the body compiles.
const LINTS: [&str; 5] = ["allow", "warn", "deny", "forbid", "expect"];

/// The user's attributes, split for the three items.
pub(crate) struct Placed {
    /// On the `#[test]` fn: all but `#[expect]`, which the body fn meets
    /// (on both, the test fn's copy would go unfulfilled and warn).
    pub(crate) test: Vec<TokenStream>,
    /// On the body fn: `#[cfg]` and lint levels.
    pub(crate) body: Vec<TokenStream>,
    /// On the parameter check: `#[cfg]` only.
    pub(crate) check: Vec<TokenStream>,
}

/// Splits `attrs`; a `#[cfg_attr(pred, ...)]` is split by what it holds.
pub(crate) fn place(attrs: &[Attribute]) -> Placed {
    let mut placed = Placed {
        test: Vec::new(),
        body: Vec::new(),
        check: Vec::new(),
    };
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("cfg") {
            placed.test.push(quote!(#attr));
            placed.body.push(quote!(#attr));
            placed.check.push(quote!(#attr));
        } else if path.is_ident("cfg_attr") {
            let Ok((predicate, inner)) = cfg_attr(attr) else {
                // Malformed: left to the compiler, on the test fn alone.
                placed.test.push(quote!(#attr));
                continue;
            };
            let kept = |keep: &dyn Fn(&Meta) -> bool| {
                let kept: Vec<_> = inner.iter().filter(|meta| keep(meta)).collect();
                (!kept.is_empty()).then(|| quote!(#[cfg_attr(#predicate, #(#kept),*)]))
            };
            placed
                .test
                .extend(kept(&|meta| !meta.path().is_ident("expect")));
            placed.body.extend(kept(&|meta| is_cfg_or_lint(meta)));
            placed
                .check
                .extend(kept(&|meta| meta.path().is_ident("cfg")));
        } else if LINTS.iter().any(|lint| path.is_ident(lint)) {
            if !path.is_ident("expect") {
                placed.test.push(quote!(#attr));
            }
            placed.body.push(quote!(#attr));
        } else {
            placed.test.push(quote!(#attr));
        }
    }
    placed
}

fn is_cfg_or_lint(meta: &Meta) -> bool {
    meta.path().is_ident("cfg") || LINTS.iter().any(|lint| meta.path().is_ident(lint))
}

/// `cfg_attr(predicate, a, b)` as the predicate and the attributes.
fn cfg_attr(attr: &Attribute) -> syn::Result<(Meta, Punctuated<Meta, Token![,]>)> {
    attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
        let predicate: Meta = input.parse()?;
        input.parse::<Token![,]>()?;
        let inner = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        Ok((predicate, inner))
    })
}
