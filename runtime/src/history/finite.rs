//! A serializer wrapper that refuses non-finite floats.
//!
//! serde_json writes NaN and the infinities as `null`, silently; the value
//! then fails to decode as a float later, far from where it was made. Each
//! payload is serialized through [`Finite`], which passes every call to
//! serde_json's serializer and stops at the first non-finite float. On that
//! (error) path only, each level adds its field name or index, so the error
//! says where the value is: `$.points[2].x`.

use std::cell::RefCell;
use std::fmt::Write as _;

use serde::ser::{self, Serialize, Serializer};

/// What was found, and where (innermost segment first).
#[derive(Debug, Default)]
pub(crate) struct Found {
    found: RefCell<Option<(&'static str, Vec<Segment>)>>,
}

#[derive(Debug)]
enum Segment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

impl Found {
    /// The value (`"NaN"`, `"inf"`, `"-inf"`) and its path, if one was found.
    pub(crate) fn take(&self) -> Option<(&'static str, String)> {
        let (value, segments) = self.found.borrow_mut().take()?;
        let mut path = String::from("$");
        for segment in segments.iter().rev() {
            let _ = match segment {
                Segment::Field(name) => write!(path, ".{name}"),
                Segment::Index(i) => write!(path, "[{i}]"),
                Segment::Key(key) => write!(path, "[{key}]"),
            };
        }
        Some((value, path))
    }

    fn push(&self, segment: impl FnOnce() -> Segment) {
        if let Some((_, segments)) = &mut *self.found.borrow_mut() {
            segments.push(segment());
        }
    }

    fn check<E: ser::Error>(&self, v: f64) -> Result<(), E> {
        if v.is_finite() {
            return Ok(());
        }
        let value = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        *self.found.borrow_mut() = Some((value, Vec::new()));
        Err(E::custom("a non-finite float"))
    }
}

/// `value`, serialized with non-finite floats refused into `found`.
pub(crate) struct Finite<'a, T: ?Sized>(pub(crate) &'a T, pub(crate) &'a Found);

impl<T: Serialize + ?Sized> Serialize for Finite<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Checked { inner: serializer, found: self.1 })
    }
}

struct Checked<'a, S> {
    inner: S,
    found: &'a Found,
}

/// A compound serializer (sequence, map, struct...) whose elements go through [`Finite`].
struct Compound<'a, C> {
    inner: C,
    found: &'a Found,
    index: usize,
    /// The enum variant whose fields these are, if any.
    variant: Option<&'static str>,
}

impl<'a, C> Compound<'a, C> {
    fn new(inner: C, found: &'a Found) -> Self {
        Compound { inner, found, index: 0, variant: None }
    }

    fn of_variant(inner: C, found: &'a Found, variant: &'static str) -> Self {
        Compound { inner, found, index: 0, variant: Some(variant) }
    }

    fn element<E>(&mut self, result: Result<(), E>) -> Result<(), E> {
        if result.is_err() {
            let index = self.index;
            self.found.push(|| Segment::Index(index));
            self.in_variant();
        }
        self.index += 1;
        result
    }

    fn field<E>(&self, name: &'static str, result: Result<(), E>) -> Result<(), E> {
        if result.is_err() {
            self.found.push(|| Segment::Field(name));
            self.in_variant();
        }
        result
    }

    fn in_variant(&self) {
        if let Some(variant) = self.variant {
            self.found.push(|| Segment::Field(variant));
        }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.inner.$method($($arg),*)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Checked<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.found.check(f64::from(v))?;
        self.inner.serialize_f32(v)
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.found.check(v)?;
        self.inner.serialize_f64(v)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&Finite(value, self.found))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, &Finite(value, self.found))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let result = self.inner.serialize_newtype_variant(name, index, variant, &Finite(value, self.found));
        if result.is_err() {
            self.found.push(|| Segment::Field(variant));
        }
        result
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Compound::new(self.inner.serialize_seq(len)?, self.found))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(Compound::new(self.inner.serialize_tuple(len)?, self.found))
    }

    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(Compound::new(self.inner.serialize_tuple_struct(name, len)?, self.found))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Ok(Compound::of_variant(self.inner.serialize_tuple_variant(name, index, variant, len)?, self.found, variant))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Compound::new(self.inner.serialize_map(len)?, self.found))
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Compound::new(self.inner.serialize_struct(name, len)?, self.found))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Ok(Compound::of_variant(self.inner.serialize_struct_variant(name, index, variant, len)?, self.found, variant))
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! sequence {
    ($trait:ident, $method:ident) => {
        impl<C: ser::$trait> ser::$trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                let result = self.inner.$method(&Finite(value, self.found));
                self.element(result)
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    };
}

sequence!(SerializeSeq, serialize_element);
sequence!(SerializeTuple, serialize_element);
sequence!(SerializeTupleStruct, serialize_field);
sequence!(SerializeTupleVariant, serialize_field);

macro_rules! structure {
    ($trait:ident) => {
        impl<C: ser::$trait> ser::$trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), C::Error> {
                let result = self.inner.serialize_field(key, &Finite(value, self.found));
                self.field(key, result)
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
                self.inner.skip_field(key)
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    };
}

structure!(SerializeStruct);
structure!(SerializeStructVariant);

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        let result = self.inner.serialize_key(&Finite(key, self.found));
        if result.is_err() {
            self.found.push(|| Segment::Key("key".to_owned()));
        }
        result
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let result = self.inner.serialize_value(&Finite(value, self.found));
        if result.is_err() {
            self.found.push(|| Segment::Key("..".to_owned()));
        }
        result
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), C::Error> {
        let result = self.inner.serialize_entry(&Finite(key, self.found), &Finite(value, self.found));
        if result.is_err() {
            // The error path only: the key, as the JSON string it becomes, names the entry.
            self.found.push(|| {
                Segment::Key(match serde_json::to_string(key) {
                    Ok(key) if key.starts_with('"') => key,
                    Ok(key) => format!("\"{key}\""),
                    Err(_) => "..".to_owned(),
                })
            });
        }
        result
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}
