//! What a `#[netns_test]` fn may look like, checked before expanding so that
//! misuse is reported on the user's tokens rather than inside the expansion.

use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, ItemFn, Pat, Type};

use crate::errors::Errors;

const ONLY_PARAM: &str = "a #[netns_test] fn may take one parameter: `ns: &NetNs` (the \
     test's namespace) or `net: &Network` (the test's network: two hosts, or the one \
     `network = ...` or `uplink` asks for)";

/// What the test fn takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// Nothing.
    None,
    /// `ns: &NetNs`: its namespace.
    NetNs,
    /// `net: &Network`: the test's network (`Network::pair` unless an
    /// option asks for another).
    Network,
    /// A reference to a type spelled otherwise (`&Ns` after
    /// `use netns_test::NetNs as Ns`): which of the two it is, the
    /// expansion leaves to the compiler (`netns_test::__private::Param`).
    Typed,
}

/// Checks the fn and returns what it takes.
pub(crate) fn check(func: &ItemFn) -> syn::Result<Param> {
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
            FnArg::Typed(typed) if index > 0 || param_of(&typed.ty).is_none() => {
                errors.push(Error::new_spanned(typed, ONLY_PARAM));
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) if ident.subpat.is_none() => {}
                Pat::Wild(_) => {}
                pat => errors.push(Error::new(
                    pat.span(),
                    "bind the parameter to a name, as in `ns: &NetNs`, or to `_`",
                )),
            },
        }
    }

    errors.finish()?;
    Ok(match sig.inputs.first() {
        Some(FnArg::Typed(typed)) => param_of(&typed.ty).unwrap_or(Param::None),
        _ => Param::None,
    })
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

/// `&NetNs`, `&'_ NetNs`, `&some::path::NetNs` (likewise `Network`), or a
/// reference to another path type (an alias of either, checked by the
/// runtime's `Param` trait): what the runtime can pass.
fn param_of(ty: &Type) -> Option<Param> {
    let Type::Reference(reference) = strip_parens(ty) else {
        return None;
    };
    if reference.mutability.is_some() || reference.lifetime.as_ref().is_some_and(|l| l.ident != "_")
    {
        return None;
    }
    let Type::Path(path) = strip_parens(&reference.elem) else {
        return None;
    };
    let segment = path.path.segments.last()?;
    if path.qself.is_some() || !segment.arguments.is_none() {
        return None;
    }
    if segment.ident == "NetNs" {
        Some(Param::NetNs)
    } else if segment.ident == "Network" {
        Some(Param::Network)
    } else {
        Some(Param::Typed)
    }
}

/// The type the test's parameter refers to (`T` of `&T`), if it takes one.
pub(crate) fn param_type(func: &ItemFn) -> Option<&Type> {
    let Some(FnArg::Typed(typed)) = func.sig.inputs.first() else {
        return None;
    };
    match strip_parens(&typed.ty) {
        Type::Reference(reference) => Some(strip_parens(&reference.elem)),
        _ => None,
    }
}

fn strip_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => strip_parens(&paren.elem),
        Type::Group(group) => strip_parens(&group.elem),
        other => other,
    }
}

fn no_tokio_message() -> String {
    needs_feature("`async fn` tests need", "tokio")
}

/// "`what` the `feature` feature of netns-test; enable it ...".
pub(crate) fn needs_feature(what: &str, feature: &str) -> String {
    // Major.minor is what a Cargo.toml line would name, and keeps the message
    // stable across patch releases.
    let version = env!("CARGO_PKG_VERSION");
    let version = version
        .match_indices('.')
        .nth(1)
        .map_or(version, |(end, _)| &version[..end]);
    format!(
        "{what} the `{feature}` feature of netns-test; enable it in Cargo.toml: \
         `netns-test = {{ version = \"{version}\", features = [\"{feature}\"] }}`"
    )
}
