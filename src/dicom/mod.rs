//! Reading CT series from DICOM bytes (placeholder until the reader lands).
