package algorithmia.hello_java;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * hello_java: greets its input with the greeting its data file holds (copied beside it by the
 * workflow's data_files), so a call shows that the build and the Data API work.
 *
 * The Data API is spoken with the JDK's own HTTP client, reading the address and the call's key
 * from ALGORITHMIA_API and ALGORITHMIA_API_KEY as the official clients do: it then builds with
 * nothing but the JDK, on a cluster that mirrors Maven Central and on one that does not.
 */
public class hello_java {
    private static final String GREETING = "data://.my/<algo>/greeting.txt";
    private final HttpClient http = HttpClient.newHttpClient();

    public String apply(String input) throws Exception {
        String api = System.getenv().getOrDefault("ALGORITHMIA_API", "https://api.algorithmia.com");
        URI uri = URI.create(api + "/v1/data/" + GREETING.substring("data://".length()));
        HttpRequest request = HttpRequest.newBuilder(uri)
                .header("Authorization", "Simple " + System.getenv("ALGORITHMIA_API_KEY"))
                .GET().build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("reading " + GREETING + " failed: HTTP " + response.statusCode()
                    + " " + response.body());
        }
        return response.body().trim() + ", " + input + " (java)";
    }
}
