//! An in-process mock of the Layers Partner API.
