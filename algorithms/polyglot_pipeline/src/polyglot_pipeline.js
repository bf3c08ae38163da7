// polyglot_pipeline: a JavaScript entrypoint that calls a Python and a Java algorithm deployed
// beside it, in parallel, and answers with the three languages' results: one call shows that
// every language's environment on the cluster builds, runs and calls the others.
const Algorithmia = require("algorithmia");

const client = Algorithmia.client();
// The deployed copies of the workflow (the testbench renames these to the names it deployed).
const PYTHON = "algo://.my/hello_world/latestPrivate";
const JAVA = "algo://.my/hello_java/latestPrivate";

function call(uri, input) {
  return new Promise(function (resolve, reject) {
    // The Node client takes the path without its scheme.
    client.algo(uri.replace("algo://", "")).pipe(input).then(function (response) {
      if (response.error) {
        reject(new Error(uri + " failed: " + response.error.message));
      } else {
        resolve(response.get());
      }
    });
  });
}

exports.apply = async function (input) {
  const [python, java] = await Promise.all([call(PYTHON, input), call(JAVA, input)]);
  return { javascript: "hello " + input + " (javascript)", python: python, java: java };
};
