//! MIME scrubbing.
