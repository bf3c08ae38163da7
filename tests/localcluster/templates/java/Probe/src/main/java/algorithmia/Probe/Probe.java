package algorithmia.Probe;

import com.google.gson.JsonParser;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;

public class Probe {
    private static int loads = 0;
    private Api api;
    private int calls = 0;

    public void load() {
        loads++;
        api = new Api();  // made once per worker: it must follow each call's key
    }

    public String apply(String input) {
        calls++;
        return "Hello " + input;
    }

    public byte[] apply(byte[] input) {
        calls++;
        byte[] reversed = new byte[input.length];
        for (int i = 0; i < input.length; i++) {
            reversed[i] = input[input.length - 1 - i];
        }
        return reversed;
    }

    public Map<String, Object> apply(Map<String, Object> input) throws Exception {
        calls++;
        String op = String.valueOf(input.get("op"));
        Map<String, Object> out = new HashMap<>();
        switch (op) {
            case "info":
                out.put("pid", ProcessHandle.current().pid());
                out.put("loads", loads);
                out.put("calls", calls);
                return out;
            case "print":
                System.out.println(input.get("text"));
                new ProcessBuilder("echo", "child says " + input.get("text")).inheritIO().start().waitFor();
                out.put("printed", true);
                return out;
            case "fail":
                fail(String.valueOf(input.get("message")));
                return out;
            case "read":
                out.put("text", api.dataText(String.valueOf(input.get("file"))));
                out.put("key", sha256(System.getenv("ALGORITHMIA_API_KEY")));
                return out;
            case "nested":
                String answer = api.pipe(String.valueOf(input.get("algo")), new com.google.gson.Gson().toJson(input.get("input")));
                out.put("nested", JsonParser.parseString(answer).getAsJsonObject().get("result").toString());
                return out;
            default:
                return input;
        }
    }

    private static void fail(String message) {
        throw new IllegalStateException(message);
    }

    private static String sha256(String text) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            hex.append(String.format("%02x", digest[i]));
        }
        return hex.toString();
    }
}
