package algorithmia.Probe;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/** The few Algorithmia API calls the probe makes, over java.net.http (the official client is on Maven Central). */
final class Api {
    private final HttpClient http = HttpClient.newHttpClient();

    /** Read at each request: a client made at load time must use the current call's key. */
    private static HttpRequest.Builder request(String path) {
        String api = System.getenv("ALGORITHMIA_API");
        return HttpRequest.newBuilder(URI.create((api != null ? api : "https://api.algorithmia.com") + path))
                .header("Authorization", "Simple " + System.getenv("ALGORITHMIA_API_KEY"));
    }

    String dataText(String uri) throws IOException, InterruptedException {
        String path = uri.replaceFirst("^data://", "");
        return send(request("/v1/data/" + path).GET().build());
    }

    /** The whole answer of a call: {"result": ..., "metadata": ...} or {"error": ...}. */
    String pipe(String algorithm, String json) throws IOException, InterruptedException {
        String path = algorithm.replaceFirst("^algo://", "");
        return send(request("/v1/algo/" + path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build());
    }

    private String send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (response.statusCode() != 200) {
            throw new IOException(request.method() + " " + request.uri().getPath() + ": " + response.statusCode() + " "
                    + response.body());
        }
        return response.body();
    }
}
