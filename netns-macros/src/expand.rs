//! Turns the user's fn into a `#[test]` that runs it inside a new namespace.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, Expr, ExprLit, Item, ItemFn, Lit, LitStr, Meta, MetaNameValue, ReturnType,
    Type,
};

use crate::config::{Config, Flavor};
use crate::signature::{self, Param};

/// The attribute's output; on error, the user's fn is still emitted next to
/// the errors so rust-analyzer and the rest of the crate keep working.
pub(crate) fn netns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let item = echo(item);
            let error = error.to_compile_error();
            quote!(#item #error)
        }
    }
}

fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let func = match syn::parse2::<Item>(item)? {
        Item::Fn(func) => func,
        other => {
            return Err(Error::new_spanned(
                other,
                "#[netns_test] goes on a fn: the test to run in a new network namespace",
            ));
        }
    };

    // Both halves are checked even when one fails, so every mistake shows up
    // in the same build.
    let is_async = func.sig.asyncness.is_some();
    let options = Config::parse(args).and_then(|config| {
        let flavor = config.flavor(is_async)?;
        Ok((config, flavor))
    });
    match (options, signature::check(&func)) {
        (Ok((config, flavor)), Ok(param)) => {
            config.check_param(param)?;
            config.check_network_feature(param, func.sig.inputs.first())?;
            Ok(generate(func, &config, param, flavor))
        }
        (Err(mut error), Err(other)) => {
            error.combine(other);
            Err(error)
        }
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
    }
}

fn generate(func: ItemFn, config: &Config, param: Param, flavor: Option<Flavor>) -> TokenStream {
    let param_type = signature::param_type(&func).cloned();
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    let krate = &config.krate;
    let loopback = config.loopback;
    let capture = config.capture;
    let name = sig.ident.clone();
    let fn_token = sig.fn_token;

    // The user's fn is kept whole under another name, so `?`, `return`, the
    // parameter and the return type behave exactly as written. It sits
    // beside the test rather than inside it: outside a test build
    // (doctests, trybuild, `cargo check` without `--test`) the `#[test]` fn
    // is removed before type checking, and the body must still be checked.
    let body_fn = Ident::new(&format!("__netns_test_body_{}", name.unraw()), name.span());
    sig.ident = body_fn.clone();
    let placed = crate::attrs::place(&attrs);
    let (test_attrs, body_attrs, check_attrs) = (&placed.test, &placed.body, &placed.check);

    // The runtime is named through one `use`, so that a bad `crate = ...`
    // path is reported once, on that path, while the `run` path carries the
    // return type's span: a type that isn't `Termination` is then reported
    // on the user's return type rather than on the attribute.
    let span = match &sig.output {
        ReturnType::Default => name.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let private = Ident::new("__netns_test_private", span);
    let ns = Ident::new("__netns_test_ns", Span::call_site());
    let net = Ident::new("__netns_test_net", Span::call_site());
    // `run` hands the closure the test's namespace; the others also a
    // network they build first: the two-host `Network::pair` for a `net`
    // parameter, the uplink around the test's namespace (whatever the body
    // takes), or the user's topology.
    let (runner, topology) = if config.uplink {
        (quote!(run_with_uplink), None)
    } else if let Some((path, node)) = config.topology() {
        let node = match node {
            Some(name) => quote!(::core::option::Option::Some(#name)),
            None => quote!(::core::option::Option::None),
        };
        let name = crate::config::path_to_string(path);
        let topology = quote! {
            #private::Topology {
                describe: #path,
                name: #name,
                node: #node,
            },
        };
        (quote!(run_with_topology), Some(topology))
    } else if param == Param::Network {
        (quote!(run_with_network), None)
    } else if param == Param::Typed {
        (quote!(run_param), None)
    } else {
        (quote!(run), None)
    };
    let builds_network = config.uplink || topology.is_some() || param == Param::Network;
    // A parameter of another spelling: the type decides, through the
    // `Param` trait (what to build, and what to hand the body).
    let typed = Ident::new("__netns_test_param", Span::call_site());
    let params = match (builds_network, &param_type) {
        (true, _) => quote!(#ns: &#private::NetNs, #net: &#private::Network),
        (false, Some(ty)) if param == Param::Typed => quote!(#ns: &#private::NetNs, #typed: &#ty),
        (false, _) => quote!(#ns: &#private::NetNs),
    };
    let args = match (param, &param_type) {
        (Param::None, _) => quote!(),
        (Param::NetNs, _) => quote!(#ns),
        (Param::Network, _) => quote!(#net),
        (Param::Typed, Some(ty)) if builds_network => {
            quote!(<#ty as #private::Param>::from_network(#ns, #net))
        }
        (Param::Typed, _) => quote!(#typed),
    };
    // A parameter of another spelling is checked by the compiler, beside
    // the test (so in every build, as the body is): it must be the test's
    // namespace or network, and with `network` and no `node`, the network.
    let param_check = match &param_type {
        Some(ty) if param == Param::Typed => {
            let needs_network = matches!(config.topology(), Some((_, None)));
            let message = "the body would have no way to reach this network: take it as a \
                           parameter (`net: &Network`) or run the body in one of its nodes \
                           (`node = \"name\"`)";
            quote! {
                #(#check_attrs)*
                const _: () = ::core::assert!(
                    !#needs_network || <#ty as #krate::__private::Param>::IS_NETWORK,
                    #message
                );
            }
        }
        _ => quote!(),
    };
    let call = quote!(#body_fn(#args));
    let closure = match flavor {
        None => quote!(|#params| #call),
        Some(flavor) => {
            let flavor = flavor_tokens(&private, flavor);
            quote!(|#params| #private::block_on(#ns, #flavor, #call))
        }
    };
    let should_panic = match should_panic(&attrs) {
        None => quote!(::core::option::Option::None),
        Some(expected) => quote!(::core::option::Option::Some(#expected)),
    };
    let timeout = match config.timeout_ms {
        Some(ms) => quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#ms))),
        None => quote!(::core::option::Option::None),
    };
    let run = quote_spanned! {span=>
        #private::#runner(
            #private::Options {
                loopback: #loopback,
                should_panic: #should_panic,
                timeout: #timeout,
                capture: #capture,
            },
            #topology
            #closure,
        )
    };
    // libtest only accepts `#[should_panic]` on a test returning `()`, so a
    // unit test stays unit; otherwise the body's value is reported inside
    // the namespace's thread (an error type need not be `Send`) and only the
    // exit code comes back.
    let (outer_output, tail) = if returns_unit(&sig.output) {
        (quote!(), quote!(let _ = #run;))
    } else {
        (quote!(-> ::std::process::ExitCode), run)
    };

    // Every test carries the constructor that settles the binary's world
    // before `main` (entering a user namespace when unprivileged): only a
    // test binary has `#[test]` fns, so no other program is moved. More than
    // one in a binary is harmless; the first one decides.
    quote! {
        #(#body_attrs)*
        #[allow(dead_code, non_snake_case, unused_attributes)]
        #[doc(hidden)]
        #sig #block

        #param_check

        #(#test_attrs)*
        #[::core::prelude::v1::test]
        #vis #fn_token #name() #outer_output {
            #krate::before_main!();
            use #krate::__private as #private;
            #tail
        }
    }
}

/// `Some(expected)` if the test carries `#[should_panic]` (`""` when it names
/// no expected text). The runtime needs to know: a test that expects a
/// panic must not be passed by the harness's own panic when, say, no
/// namespace can be had.
fn should_panic(attrs: &[Attribute]) -> Option<String> {
    let attr = attrs
        .iter()
        .find(|attr| attr.path().is_ident("should_panic"))?;
    let mut expected = String::new();
    match &attr.meta {
        Meta::NameValue(MetaNameValue {
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }),
            ..
        }) => expected = text.value(),
        Meta::List(_) => {
            // Anything malformed is left for libtest's own attribute to report.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("expected") {
                    expected = meta.value()?.parse::<LitStr>()?.value();
                }
                Ok(())
            });
        }
        _ => {}
    }
    Some(expected)
}

fn flavor_tokens(private: &Ident, flavor: Flavor) -> TokenStream {
    match flavor {
        Flavor::CurrentThread => quote!(#private::Flavor::CurrentThread),
        Flavor::MultiThread { worker_threads } => {
            let worker_threads = if let Some(n) = worker_threads {
                let n = Literal::usize_unsuffixed(n);
                quote!(::core::option::Option::Some(#n))
            } else {
                quote!(::core::option::Option::None)
            };
            quote!(#private::Flavor::MultiThread { worker_threads: #worker_threads })
        }
    }
}

fn returns_unit(output: &ReturnType) -> bool {
    fn is_unit(ty: &Type) -> bool {
        match ty {
            Type::Tuple(tuple) => tuple.elems.is_empty(),
            Type::Paren(paren) => is_unit(&paren.elem),
            Type::Group(group) => is_unit(&group.elem),
            _ => false,
        }
    }
    match output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => is_unit(ty),
    }
}

/// The item to emit beside an error. A test attribute or a `...` left on it
/// would bring rustc's or another macro's errors about what we have already
/// reported, so those are dropped; the rest is emitted as written.
fn echo(item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(mut func) => {
            func.attrs.retain(|attr| !signature::is_test_attr(attr));
            func.sig.variadic = None;
            func.into_token_stream()
        }
        Err(_) => item,
    }
}
