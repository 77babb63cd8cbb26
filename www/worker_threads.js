// Entry of the compute worker in the threaded build: app.js starts it instead of
// worker.js only when the page is cross-origin isolated (SharedArrayBuffer available).
// Module order matters: threads.js sets up the threaded build before worker.js runs.
import './threads.js';
import './worker.js';
