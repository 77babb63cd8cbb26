//! Procedurally generated demo study (placeholder until the phantom lands).
