//! What a `#[netns_test]` fn may look like, checked before expanding so that
//! misuse is reported on the user's tokens rather than inside the expansion.

use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, ItemFn, Pat, Type};

use crate::errors::Errors;

const ONLY_PARAM: &str = "the only parameter a #[netns_test] fn may take is `ns: &NetNs`";

/// Checks the fn and returns whether it takes the `ns: &NetNs` parameter.
pub(crate) fn check(func: &ItemFn) -> syn::Result<bool> {
    let sig = &func.sig;
    let mut errors = Errors::default();

    for attr in func.attrs.iter().filter(|attr| is_test_attr(attr)) {
        errors.push(Error::new_spanned(
            attr,
            "#[netns_test] already makes this a test; remove this attribute",
        ));
    }
    if let Some(token) = &sig.constness {
        errors.push(Error::new_spanned(
            token,
            "a #[netns_test] fn can't be `const`",
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(Error::new_spanned(
            token,
            "a #[netns_test] fn can't be `unsafe`; put an `unsafe` block inside it instead",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            "a #[netns_test] fn can't have an `extern` ABI",
        ));
    }
    if let Some(token) = &sig.asyncness {
        if !cfg!(feature = "tokio") {
            errors.push(Error::new_spanned(token, no_tokio_message()));
        }
    }
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &sig.generics,
            "a #[netns_test] fn can't be generic",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(Error::new_spanned(
            where_clause,
            "a #[netns_test] fn can't have a `where` clause",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(
            variadic,
            "a #[netns_test] fn can't be variadic",
        ));
    }

    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.push(Error::new_spanned(
                receiver,
                "a #[netns_test] fn can't take `self`; it has to be a free fn",
            )),
            FnArg::Typed(typed) if index > 0 || !is_netns_ref(&typed.ty) => {
                errors.push(Error::new_spanned(typed, ONLY_PARAM));
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) if ident.subpat.is_none() => {}
                Pat::Wild(_) => {}
                pat => errors.push(Error::new(
                    pat.span(),
                    "bind the namespace to a name, as in `ns: &NetNs`, or to `_`",
                )),
            },
        }
    }

    errors.finish()?;
    Ok(!sig.inputs.is_empty())
}

/// `#[test]`, `#[tokio::test]` and the like: a second test attribute would
/// register the fn twice or wrap it in another runtime.
///
/// Only those written below `#[netns_test]` can be seen: libtest expands a
/// `#[test]` above it first and leaves no trace on the fn.
pub(crate) fn is_test_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
}

/// `&NetNs`, `&'_ NetNs` or `&some::path::NetNs`: what the runtime passes.
fn is_netns_ref(ty: &Type) -> bool {
    let Type::Reference(reference) = strip_parens(ty) else {
        return false;
    };
    if reference.mutability.is_some() || reference.lifetime.as_ref().is_some_and(|l| l.ident != "_")
    {
        return false;
    }
    let Type::Path(path) = strip_parens(&reference.elem) else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "NetNs" && segment.arguments.is_none())
}

fn strip_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => strip_parens(&paren.elem),
        Type::Group(group) => strip_parens(&group.elem),
        other => other,
    }
}

fn no_tokio_message() -> String {
    // Major.minor is what a Cargo.toml line would name, and keeps the message
    // stable across patch releases.
    let version = env!("CARGO_PKG_VERSION");
    let version = version
        .match_indices('.')
        .nth(1)
        .map_or(version, |(end, _)| &version[..end]);
    format!(
        "`async fn` tests need the `tokio` feature of netns-test; enable it in Cargo.toml: \
         `netns-test = {{ version = \"{version}\", features = [\"tokio\"] }}`"
    )
}
