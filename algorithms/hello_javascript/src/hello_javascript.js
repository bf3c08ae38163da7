// hello_javascript: greets its input with the greeting its data file holds (copied beside it by
// the workflow's data_files), so a call shows that the build, the client and the Data API work.
const Algorithmia = require("algorithmia");

// Made once per worker, as the devcenter recommends; the platform gives each call its own key.
const client = Algorithmia.client();
const GREETING = "data://.my/<algo>/greeting.txt";

exports.apply = function (input, cb) {
  client.file(GREETING).get(function (err, data) {
    if (err) {
      cb(new Error("reading " + GREETING + " failed: " + (err.message || err)));
      return;
    }
    cb(null, String(data).trim() + ", " + input + " (javascript)");
  });
};
