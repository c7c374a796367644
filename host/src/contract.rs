//! [`Contract`]: the component's exported functions as the compiled component
//! declares them, and calls of them by WIT name with every value as JSON.
//!
//! The types are read from the component itself, never restated: a function added
//! to `wit/` is callable here, by [`CacheService::call_by_name`], by the conformance
//! runners and by `cache-host call`, with no edit of a table. The encoding is the
//! one of `conformance/README.md`:
//!
//! | WIT | JSON |
//! |---|---|
//! | `bool`, integers, floats | a boolean, a number; a 64-bit integer may also be a decimal string |
//! | `char`, `string` | a string |
//! | `list<T>`, `tuple<..>` | an array |
//! | `record` | an object of its kebab-case field names |
//! | `enum` | its case name |
//! | `variant` | `{"case": payload}` (`null` payload for a case without one) |
//! | `option<T>` | `null` for `none`, else the `T` |
//! | `result<T, E>` (not at the top) | `{"ok": T}` or `{"err": E}` |
//! | `flags` | an array of the names set |
//!
//! A function's own `result<T, E>` is the call's answer: `Ok(T)` or `Err(E)`.
//!
//! [`CacheService::call_by_name`]: crate::CacheService::call_by_name

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use wasmtime::component::types::ComponentItem;
/// A WIT type, as the compiled component declares it (wasmtime's).
pub use wasmtime::component::types::Type;
use wasmtime::component::{Instance, Val};
use wasmtime::{AsContextMut, Engine};

/// What a call answered: the `ok` payload, or the `err` payload (`cache-error`),
/// as JSON. A function that returns no `result` always answers `Ok`.
pub type Answer = Result<Value, Value>;

/// Every function the component exports, by WIT name (`cache.get`, `bot.set-user-data`).
#[derive(Debug)]
pub struct Contract {
    functions: BTreeMap<String, Function>,
}

/// One exported function: where it is exported and its WIT types.
#[derive(Debug)]
pub struct Function {
    interface: String,
    name: String,
    params: Vec<(String, Type)>,
    result: Option<Type>,
}

impl Contract {
    /// Reads the exported interfaces of `component` (their functions; the types of
    /// `types` come with them).
    pub fn of(engine: &Engine, component: &wasmtime::component::Component) -> Self {
        let mut functions = BTreeMap::new();
        for (interface, item) in component.component_type().exports(engine) {
            let ComponentItem::ComponentInstance(instance) = item.ty else {
                continue;
            };
            let short = short_name(interface);
            for (name, item) in instance.exports(engine) {
                let ComponentItem::ComponentFunc(func) = item.ty else {
                    continue;
                };
                let params = func.params().map(|(n, ty)| (n.to_owned(), ty)).collect();
                functions.insert(
                    format!("{short}.{name}"),
                    Function {
                        interface: interface.to_owned(),
                        name: name.to_owned(),
                        params,
                        result: func.results().next(),
                    },
                );
            }
        }
        Contract { functions }
    }

    /// The function called `name` (`interface.function`), if exported.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.get(name)
    }

    /// The WIT names of every exported function, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// Every function's parameters and result as JSON (`conformance/signatures.json`):
    /// what a runner in a language without the component's types needs to convert
    /// arguments and answers.
    pub fn describe(&self) -> Value {
        let functions: Map<String, Value> = self
            .functions
            .iter()
            .map(|(name, f)| {
                let params: Vec<Value> = f
                    .params
                    .iter()
                    .map(|(n, ty)| json!([n, describe_type(ty)]))
                    .collect();
                let result = f.result.as_ref().map_or(Value::Null, describe_type);
                (name.clone(), json!({"params": params, "result": result}))
            })
            .collect();
        json!({"format": 1, "functions": functions})
    }

    /// [`describe`](Self::describe) as text, one function per line (the form of
    /// `conformance/signatures.json`, which a test compares with the component).
    pub fn describe_text(&self) -> String {
        let description = self.describe();
        let mut lines = Vec::new();
        if let Some(functions) = description["functions"].as_object() {
            for (name, f) in functions {
                lines.push(format!("  {}: {f}", Value::String(name.clone())));
            }
        }
        format!(
            "{{\"format\": 1, \"functions\": {{\n{}\n}}}}\n",
            lines.join(",\n")
        )
    }

    /// Converts `args` for the function `name` (checked before anything runs).
    pub fn prepare(&self, name: &str, args: &[Value]) -> Result<Call<'_>, String> {
        let function = self
            .function(name)
            .ok_or_else(|| format!("the component exports no function {name:?}"))?;
        if args.len() != function.params.len() {
            return Err(format!(
                "{name} takes {} arguments ({}), not {}",
                function.params.len(),
                function
                    .params
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.len()
            ));
        }
        let params = function
            .params
            .iter()
            .zip(args)
            .map(|((n, ty), arg)| to_val(ty, arg).map_err(|e| format!("{name}: {n}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Call { function, params })
    }
}

impl Function {
    /// The parameters, by WIT name, in order.
    pub fn params(&self) -> &[(String, Type)] {
        &self.params
    }

    /// The result type, if the function returns one.
    pub fn result(&self) -> Option<&Type> {
        self.result.as_ref()
    }
}

/// A call whose arguments matched the function's types, ready to run.
#[derive(Debug)]
pub struct Call<'a> {
    function: &'a Function,
    params: Vec<Val>,
}

impl Call<'_> {
    /// Calls the function on `instance`. `Err` is wasmtime's (a trap); the answer
    /// is the function's own result.
    pub fn run(self, instance: Instance, mut store: impl AsContextMut) -> wasmtime::Result<Answer> {
        let f = self.function;
        let missing = || wasmtime::Error::msg(format!("no export {}.{}", f.interface, f.name));
        let interface = instance
            .get_export_index(&mut store, None, &f.interface)
            .ok_or_else(missing)?;
        let index = instance
            .get_export_index(&mut store, Some(&interface), &f.name)
            .ok_or_else(missing)?;
        let func = instance.get_func(&mut store, index).ok_or_else(missing)?;
        let mut results = vec![Val::Bool(false); usize::from(f.result.is_some())];
        func.call(&mut store, &self.params, &mut results)?;
        Ok(match results.pop() {
            None => Ok(Value::Null),
            Some(Val::Result(r)) if matches!(f.result, Some(Type::Result(_))) => {
                let payload = |p: Option<Box<Val>>| p.map_or(Value::Null, |v| to_json(&v));
                r.map(payload).map_err(payload)
            }
            Some(v) => Ok(to_json(&v)),
        })
    }
}

/// `cache` of `gromozeka:cache/cache@0.3.0`.
fn short_name(interface: &str) -> &str {
    let tail = interface.rsplit('/').next().unwrap_or(interface);
    tail.split('@').next().unwrap_or(tail)
}

/// A WIT type as JSON: a primitive's name, or `{"list": T}`, `{"option": T}`,
/// `{"tuple": [T...]}`, `{"record": [[field, T]...]}`, `{"enum": [case...]}`,
/// `{"variant": [[case, T or null]...]}`, `{"result": {"ok": T, "err": T}}`,
/// `{"flags": [name...]}`.
fn describe_type(ty: &Type) -> Value {
    match ty {
        Type::List(l) => json!({"list": describe_type(&l.ty())}),
        Type::Option(o) => json!({"option": describe_type(&o.ty())}),
        Type::Tuple(t) => {
            json!({"tuple": t.types().map(|t| describe_type(&t)).collect::<Vec<_>>()})
        }
        Type::Record(r) => json!({"record": r
            .fields()
            .map(|f| json!([f.name, describe_type(&f.ty)]))
            .collect::<Vec<_>>()}),
        Type::Enum(e) => json!({"enum": e.names().collect::<Vec<_>>()}),
        Type::Variant(v) => json!({"variant": v
            .cases()
            .map(|c| json!([c.name, c.ty.as_ref().map_or(Value::Null, describe_type)]))
            .collect::<Vec<_>>()}),
        Type::Result(r) => json!({"result": {
            "ok": r.ok().as_ref().map_or(Value::Null, describe_type),
            "err": r.err().as_ref().map_or(Value::Null, describe_type),
        }}),
        Type::Flags(f) => json!({"flags": f.names().collect::<Vec<_>>()}),
        other => Value::String(primitive_name(other).to_owned()),
    }
}

fn primitive_name(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        _ => "unsupported",
    }
}

/// Converts `json` to a value of `ty`, or says what does not match.
pub fn to_val(ty: &Type, json: &Value) -> Result<Val, String> {
    let wrong = || format!("expected {}, got {json}", describe_type(ty));
    let int = || -> Result<i128, String> {
        match json {
            Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(wrong)
    };
    let ranged = |n: i128| -> Result<Val, String> {
        let out_of_range = || format!("{n} is out of range for {}", primitive_name(ty));
        Ok(match ty {
            Type::S8 => Val::S8(n.try_into().map_err(|_| out_of_range())?),
            Type::U8 => Val::U8(n.try_into().map_err(|_| out_of_range())?),
            Type::S16 => Val::S16(n.try_into().map_err(|_| out_of_range())?),
            Type::U16 => Val::U16(n.try_into().map_err(|_| out_of_range())?),
            Type::S32 => Val::S32(n.try_into().map_err(|_| out_of_range())?),
            Type::U32 => Val::U32(n.try_into().map_err(|_| out_of_range())?),
            Type::S64 => Val::S64(n.try_into().map_err(|_| out_of_range())?),
            _ => Val::U64(n.try_into().map_err(|_| out_of_range())?),
        })
    };
    let items = || json.as_array().ok_or_else(wrong);
    Ok(match ty {
        Type::Bool => Val::Bool(json.as_bool().ok_or_else(wrong)?),
        Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::S64
        | Type::U64 => ranged(int()?)?,
        Type::Float32 => Val::Float32(json.as_f64().ok_or_else(wrong)? as f32),
        Type::Float64 => Val::Float64(json.as_f64().ok_or_else(wrong)?),
        Type::Char => {
            let mut chars = json.as_str().ok_or_else(wrong)?.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(wrong()),
            }
        }
        Type::String => Val::String(json.as_str().ok_or_else(wrong)?.to_owned()),
        Type::List(l) => {
            let ty = l.ty();
            Val::List(
                items()?
                    .iter()
                    .map(|v| to_val(&ty, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Tuple(t) => {
            let items = items()?;
            if items.len() != t.types().len() {
                return Err(wrong());
            }
            Val::Tuple(
                t.types()
                    .zip(items)
                    .map(|(ty, v)| to_val(&ty, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Record(r) => {
            let object = json.as_object().ok_or_else(wrong)?;
            if let Some(unknown) = object.keys().find(|k| !r.fields().any(|f| f.name == *k)) {
                return Err(format!("unknown field {unknown:?} in {json}"));
            }
            let fields = r.fields().map(|f| {
                let value = object
                    .get(f.name)
                    .ok_or_else(|| format!("missing field {:?} in {json}", f.name))?;
                Ok((f.name.to_owned(), to_val(&f.ty, value)?))
            });
            Val::Record(fields.collect::<Result<_, String>>()?)
        }
        Type::Enum(e) => {
            let name = json.as_str().ok_or_else(wrong)?;
            if !e.names().any(|n| n == name) {
                return Err(wrong());
            }
            Val::Enum(name.to_owned())
        }
        Type::Variant(v) => {
            let (case, payload) = single_key(json).ok_or_else(wrong)?;
            let found = v.cases().find(|c| c.name == case).ok_or_else(wrong)?;
            let payload = match (&found.ty, payload) {
                (None, Value::Null) => None,
                (Some(ty), payload) => Some(Box::new(to_val(ty, payload)?)),
                (None, _) => return Err(wrong()),
            };
            Val::Variant(case.to_owned(), payload)
        }
        Type::Option(o) => match json {
            Value::Null => Val::Option(None),
            some => Val::Option(Some(Box::new(to_val(&o.ty(), some)?))),
        },
        Type::Result(r) => {
            let (case, payload) = single_key(json).ok_or_else(wrong)?;
            let side = match case {
                "ok" => r.ok(),
                "err" => r.err(),
                _ => return Err(wrong()),
            };
            let payload = match (side, payload) {
                (None, Value::Null) => None,
                (Some(ty), payload) => Some(Box::new(to_val(&ty, payload)?)),
                (None, _) => return Err(wrong()),
            };
            Val::Result(if case == "ok" {
                Ok(payload)
            } else {
                Err(payload)
            })
        }
        Type::Flags(f) => {
            let names = items()?
                .iter()
                .map(|n| match n.as_str() {
                    Some(n) if f.names().any(|known| known == n) => Ok(n.to_owned()),
                    _ => Err(wrong()),
                })
                .collect::<Result<_, _>>()?;
            Val::Flags(names)
        }
        _ => {
            return Err(format!(
                "{} values cannot be written as JSON",
                primitive_name(ty)
            ))
        }
    })
}

/// `{"name": payload}`: the one key of an object and its value.
fn single_key(json: &Value) -> Option<(&str, &Value)> {
    let object = json.as_object()?;
    let mut entries = object.iter();
    match (entries.next(), entries.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}

/// A component value as JSON (see the module's table).
pub fn to_json(val: &Val) -> Value {
    match val {
        Val::Bool(b) => json!(b),
        Val::S8(n) => json!(n),
        Val::U8(n) => json!(n),
        Val::S16(n) => json!(n),
        Val::U16(n) => json!(n),
        Val::S32(n) => json!(n),
        Val::U32(n) => json!(n),
        Val::S64(n) => json!(n),
        Val::U64(n) => json!(n),
        Val::Float32(n) => json!(n),
        Val::Float64(n) => json!(n),
        Val::Char(c) => json!(c.to_string()),
        Val::String(s) => json!(s),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), to_json(v)))
                .collect(),
        ),
        Val::Enum(name) => json!(name),
        Val::Variant(case, payload) => {
            json!({case: payload.as_deref().map_or(Value::Null, to_json)})
        }
        Val::Option(v) => v.as_deref().map_or(Value::Null, to_json),
        Val::Result(r) => match r {
            Ok(v) => json!({"ok": v.as_deref().map_or(Value::Null, to_json)}),
            Err(v) => json!({"err": v.as_deref().map_or(Value::Null, to_json)}),
        },
        Val::Flags(names) => json!(names),
        Val::Map(pairs) => Value::Array(
            pairs
                .iter()
                .map(|(k, v)| json!([to_json(k), to_json(v)]))
                .collect(),
        ),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            Value::String("<handle>".into())
        }
    }
}
