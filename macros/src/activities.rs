//! Expansion of `#[activities]` on an impl block: each `#[activity]` method
//! becomes a typed stub, `Type::method`, served by one shared instance.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, ImplItemFn, ItemImpl, Meta};

use crate::args::{Args, Site};
use crate::ast::{Function, Receiver};
use crate::errors::Errors;
use crate::expand::{Inputs, activity_impls, attempt_future, krate, name, split_docs, stub_fn, too_deep};
use crate::heartbeat;

/// Parses, validates and expands `#[activities]`.
pub(crate) fn impl_block(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(error) = too_deep(Site::Activities, &args, &item) {
        return quote!(#item #error);
    }
    let mut errors = Errors::default();
    let args = Args::parse(Site::Activities, args, &mut errors);
    let mut block: ItemImpl = match syn::parse2(item.clone()) {
        Ok(block) => block,
        Err(_) => {
            errors.push(
                Span::call_site(),
                "`#[activities]` goes on an `impl` block whose methods are activities (`impl Payments { .. }`)"
                    .to_owned(),
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    if let Some((_, path, _)) = &block.trait_ {
        errors.add(syn::Error::new_spanned(
            path,
            "`#[activities]` goes on an inherent impl block (`impl Payments { .. }`), not on a trait impl",
        ));
    }
    if !block.generics.params.is_empty() || block.generics.where_clause.is_some() {
        errors.push(
            block.generics.span(),
            "`#[activities]` impl blocks cannot be generic: one concrete instance serves the activities".to_owned(),
        );
    }

    let private = {
        let krate = krate(&args);
        quote!(#krate::__private)
    };
    let mut stubs = Vec::new();
    let mut registrations = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let Some(attr) = take_activity_attr(&mut method.attrs) else { continue };
        let method_args = match &attr.meta {
            Meta::Path(_) => Args::default(),
            Meta::List(list) => Args::parse(Site::Method, list.tokens.clone(), &mut errors),
            Meta::NameValue(nv) => {
                errors.add(syn::Error::new_spanned(nv, "write `#[activity(...)]`, with parentheses"));
                Args::default()
            }
        };
        method_args.options.validate(&mut errors);
        if let Some((stub, registration)) = method_stub(&private, &block.self_ty, method, &method_args, &mut errors) {
            stubs.push(stub);
            registrations.push(registration);
        }
    }
    if stubs.is_empty() && errors.is_empty() {
        errors.push(
            block.impl_token.span,
            "this `#[activities]` block has no `#[activity]` methods; mark each activity method with `#[activity]`"
                .to_owned(),
        );
    }
    let errors = errors.to_compile_errors();
    if !errors.is_empty() || stubs.is_empty() {
        return quote!(#block #errors);
    }
    let self_ty = &block.self_ty;
    let register = quote_spanned! {self_ty.span()=>
        #[automatically_derived]
        impl #private::Activities for #self_ty {
            fn register(instance: #private::std::sync::Arc<Self>, registrar: &mut #private::Registrar<'_>) {
                #(#registrations)*
            }
        }
    };
    quote! {
        #block

        const _: () = {
            #(#stubs)*

            #register
        };
    }
}

/// Removes the `#[activity]` (or `#[weft::activity]`) attribute of a method.
fn take_activity_attr(attrs: &mut Vec<Attribute>) -> Option<Attribute> {
    let index = attrs.iter().position(|a| a.path().segments.last().is_some_and(|s| s.ident == "activity"))?;
    Some(attrs.remove(index))
}

/// Checks one `#[activity]` method, renames it out of the way, and returns
/// its stub (type, `Type::method` constant, trait impls) and its registration.
fn method_stub(
    private: &TokenStream,
    self_ty: &syn::Type,
    method: &mut ImplItemFn,
    args: &Args,
    errors: &mut Errors,
) -> Option<(TokenStream, TokenStream)> {
    let ident = method.sig.ident.clone();
    let hidden = format_ident!("__weft_{}", ident);
    let (docs, others) = split_docs(&method.attrs);
    let cfgs: Vec<&Attribute> = others.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let vis = method.vis.clone();

    let function = Function::parse(Site::Method, &method.sig, errors)?;
    if let Some(context) = function.context {
        heartbeat::check(context, &method.block, &args.options, errors);
    }
    let inputs = Inputs::new(&function);
    let activity = activity_impls(private, &ident, &name(args, &ident), &inputs, function.output, args);
    let destructure = &inputs.destructure;
    let bindings = &inputs.bindings;
    let run = match function.receiver {
        Receiver::Arc => quote_spanned!(ident.span()=> #private::assert_send(
            <#self_ty>::#hidden(instance, ctx, #(#bindings),*)
        )),
        _ => quote_spanned!(ident.span()=> #private::assert_send(async move {
            <#self_ty>::#hidden(&instance, ctx, #(#bindings),*).await
        })),
    };
    let attempt = attempt_future(private);
    let stub_doc = format!(" Typed activity stub for `{}` (generated by `#[activities]`).", name(args, &ident));
    let stub_fn = stub_fn(Site::Method, private, &docs, &vis, &ident, &stub_doc);
    let stub = quote! {
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #[doc = #stub_doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #ident {}

        #(#cfgs)*
        impl #self_ty {
            #stub_fn
        }

        #(#cfgs)*
        const _: () = {
            #activity

            #[automatically_derived]
            impl #private::ActivityMethod for #ident {
                type Instance = #self_ty;

                fn run(
                    instance: #private::std::sync::Arc<#self_ty>,
                    ctx: #private::ActivityContext,
                    input: <Self as #private::Activity>::Input,
                ) -> #attempt {
                    #destructure
                    #run
                }
            }

            #[automatically_derived]
            impl #private::ActivityMethodDefinition for #ident {}
        };
    };
    let registration = quote!(#(#cfgs)* registrar.method::<#ident>(&instance););

    method.sig.ident = hidden;
    method.attrs = others;
    method.attrs.push(syn::parse_quote!(#[doc(hidden)]));
    method.vis = syn::Visibility::Inherited;
    Some((stub, registration))
}
