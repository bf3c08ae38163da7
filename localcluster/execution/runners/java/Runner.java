/*
 * The worker side of a Java algorithm on localcluster: the Java twin of localcluster/execution/runner.py.
 *
 *     sh -c WRAPPER java FLAGS -cp CLASSPATH localcluster.runner.Runner --class algorithmia.<Name>.<Name>
 *         [--check | --parent-pid N] --stdout-file PATH
 *
 * (localcluster/builds/languages/java.py writes that command; WRAPPER is its START_SCRIPT.)
 *
 * --check is the build's load check: the class is loaded, initialised and instantiated (as Python's
 * import runs a module's top level), apply() is looked up, load() is not called; exit 0, or 1 with
 * the stack trace on stderr. Serving speaks runner.py's frames: ">II" (meta length, body length),
 * the meta as UTF-8 JSON, the body bytes; see runner.py for the messages.
 *
 * The algorithm never sees the frame pipes. The wrapper starts the JVM with the server's pipes moved
 * to fds 3 (calls in) and 4 (answers out), /dev/null as fd 0 and an append-only file as fd 1, as
 * runner.py does with dup2 (which Java cannot do): whatever a call prints, through System.out, a
 * child process that inherits stdout (ProcessBuilder.inheritIO()), native code or the JVM itself,
 * lands in that file, which is emptied before each call and read after it. fd 2 stays the worker log.
 *
 * Input and output, after the platform's Java runner (devcenter "Java": "By default, Algorithmia uses
 * Google's GSON"): the input becomes apply's parameter type with GSON. Text input is the string itself;
 * JSON input is converted by GSON (a JSON array is spread over an apply with as many parameters);
 * binary input is a byte[]. An apply annotated @AcceptsJson (any annotation of that simple name)
 * receives the JSON text. The result: a String is text (JSON with @ReturnsJson), a byte[] is binary,
 * anything else JSON through GSON (nulls kept, NaN and infinities as strings, as the platform does).
 * An input GSON cannot convert to apply's parameter is an InputError, like JSON that does not parse.
 */
package localcluster.runner;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.lang.annotation.Annotation;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public final class Runner {
    static final String ALGORITHM_ERROR = "AlgorithmError";
    static final String INPUT_ERROR = "InputError";

    static final Gson GSON = new GsonBuilder()
            .serializeNulls()
            .registerTypeAdapter(Double.class, (JsonSerializer<Double>) (value, type, context) ->
                    value.isNaN() || value.isInfinite() ? new JsonPrimitive(value.toString()) : new JsonPrimitive(value))
            .registerTypeAdapter(Float.class, (JsonSerializer<Float>) (value, type, context) ->
                    value.isNaN() || value.isInfinite() ? new JsonPrimitive(value.toString()) : new JsonPrimitive(value))
            .create();

    private Runner() {
    }

    public static void main(String[] argv) {
        Args args;
        try {
            args = Args.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("localcluster java runner: " + e.getMessage());
            Runtime.getRuntime().halt(2);
            return;
        }
        Capture capture;
        try {
            capture = new Capture(args.stdoutFile);
        } catch (IOException e) {
            System.err.println("localcluster java runner: cannot use the stdout file " + args.stdoutFile + ": " + e);
            Runtime.getRuntime().halt(2);
            return;
        }
        int code = args.check ? check(args, capture) : serve(args, capture);
        Runtime.getRuntime().halt(code);  // the algorithm's own non-daemon threads must not keep us alive
    }

    // -----------------------------------------------------------------------------------------
    // --check

    static int check(Args args, Capture capture) {
        int code = 0;
        try {
            CallEnvironment.trustClusterCa();
            Algorithm.load(args.className, false);
        } catch (Throwable e) {
            Throwable shown = Algorithm.unwrap(e);
            System.out.flush();
            System.err.print(Errors.stackTrace(shown));
            code = 1;
        }
        // The build log shows what loading printed (the build's check reads stdout and stderr).
        String printed = capture.read();
        if (!printed.isEmpty()) {
            System.err.print(printed);
        }
        System.err.flush();
        return code;
    }

    // -----------------------------------------------------------------------------------------
    // Serving

    static int serve(Args args, Capture capture) {
        Channel channel;
        try {
            channel = new Channel(new FileInputStream(Fds.open(3)), new FileOutputStream(Fds.open(4)));
        } catch (IOException | ReflectiveOperationException | RuntimeException e) {
            System.err.println("localcluster java runner: the frame pipes (fds 3 and 4) are not open: " + e);
            return 2;
        }
        Parent.watch(args.parentPid);
        try {
            Frame request = channel.receive();
            if (request == null) {
                return 0;
            }
            CallEnvironment.enter(request.meta);
            capture.reset();
            Algorithm algorithm;
            try {
                CallEnvironment.trustClusterCa();
                algorithm = Algorithm.load(args.className, true);
            } catch (Throwable e) {
                JsonObject reply = Errors.meta(Algorithm.unwrap(e), ALGORITHM_ERROR);
                reply.addProperty("stdout", capture.read());
                reply.addProperty("load_failed", true);
                channel.send(reply, new byte[0]);
                return 0;
            }
            JsonObject ready = new JsonObject();
            ready.addProperty("type", "ready");
            ready.addProperty("pid", ProcessHandle.current().pid());
            channel.send(ready, new byte[0]);
            while (request != null) {
                CallEnvironment.enter(request.meta);
                Reply reply = algorithm.call(request, capture);
                channel.send(reply.meta, reply.body);
                request = channel.receive();
            }
            return 0;
        } catch (IOException e) {
            return 0;  // the server went away: nothing left to answer
        } finally {
            Parent.killDescendants();
        }
    }

    static final class Args {
        String className;
        boolean check;
        long parentPid;
        String stdoutFile;

        static Args parse(String[] argv) {
            Args args = new Args();
            for (int i = 0; i < argv.length; i++) {
                switch (argv[i]) {
                    case "--class":
                        args.className = value(argv, ++i, "--class");
                        break;
                    case "--check":
                        args.check = true;
                        break;
                    case "--parent-pid":
                        args.parentPid = Long.parseLong(value(argv, ++i, "--parent-pid"));
                        break;
                    case "--stdout-file":
                        args.stdoutFile = value(argv, ++i, "--stdout-file");
                        break;
                    default:
                        throw new IllegalArgumentException("unknown argument " + argv[i]);
                }
            }
            if (args.className == null || args.stdoutFile == null) {
                throw new IllegalArgumentException("usage: --class NAME [--check | --parent-pid N] --stdout-file PATH "
                        + "(started through the build's wrapper, which opens PATH as fd 1)");
            }
            return args;
        }

        private static String value(String[] argv, int i, String name) {
            if (i >= argv.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            return argv[i];
        }
    }

    // -----------------------------------------------------------------------------------------
    // The algorithm: its class, one instance, load() once, apply() per call

    static final class Algorithm {
        final Object instance;
        final List<Method> applies;
        final Method jsonApply;  // the one apply annotated @AcceptsJson, if any

        private Algorithm(Object instance, List<Method> applies, Method jsonApply) {
            this.instance = instance;
            this.applies = applies;
            this.jsonApply = jsonApply;
        }

        static Algorithm load(String className, boolean runLoad) throws Throwable {
            Class<?> cls;
            try {
                cls = Class.forName(className, true, Runner.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                String simple = className.substring(className.lastIndexOf('.') + 1);
                throw new ClassNotFoundException("Algorithm class not found: " + className + ". Its source must declare "
                        + "'package " + className.substring(0, className.lastIndexOf('.')) + ";' and 'public class "
                        + simple + "'.");
            }
            List<Method> applies = new ArrayList<>();
            for (Method method : cls.getMethods()) {
                if (method.getName().equals("apply") && method.getDeclaringClass() != Object.class) {
                    applies.add(method);
                }
            }
            if (applies.isEmpty()) {
                throw new NoSuchMethodException(className + " has no public apply method: the platform calls apply(input).");
            }
            // Fewest parameters first, then a stable order: the same overload wins on every worker.
            applies.sort(Comparator.comparingInt(Method::getParameterCount).thenComparing(Method::toGenericString));
            Method jsonApply = null;
            for (Method method : applies) {
                if (hasAnnotation(method, "AcceptsJson")) {
                    if (applies.size() != 1 || method.getParameterCount() != 1
                            || method.getParameterTypes()[0] != String.class) {
                        throw new IllegalStateException("@AcceptsJson needs a single apply method taking one String");
                    }
                    jsonApply = method;
                }
            }
            Object instance = null;
            boolean allStatic = applies.stream().allMatch(m -> Modifier.isStatic(m.getModifiers()));
            if (!allStatic) {
                Constructor<?> constructor;
                try {
                    constructor = cls.getConstructor();
                } catch (NoSuchMethodException e) {
                    throw new NoSuchMethodException(className + " needs a public constructor without parameters: "
                            + "each worker makes one instance of it.");
                }
                instance = constructor.newInstance();
            }
            if (runLoad) {
                Method load = null;
                try {
                    load = cls.getMethod("load");
                } catch (NoSuchMethodException e) {
                    // load() is optional
                }
                if (load != null && load.getDeclaringClass() != Object.class) {
                    load.invoke(Modifier.isStatic(load.getModifiers()) ? null : instance);
                }
            }
            return new Algorithm(instance, applies, jsonApply);
        }

        static boolean hasAnnotation(Method method, String simpleName) {
            for (Annotation annotation : method.getAnnotations()) {
                if (annotation.annotationType().getSimpleName().equals(simpleName)) {
                    return true;
                }
            }
            return false;
        }

        /** The algorithm's own exception, not the reflection wrapper around it. */
        static Throwable unwrap(Throwable e) {
            while ((e instanceof InvocationTargetException || e instanceof ExceptionInInitializerError)
                    && e.getCause() != null) {
                e = e.getCause();
            }
            return e;
        }

        Reply call(Frame request, Capture capture) {
            capture.reset();
            long started = System.nanoTime();
            Reply reply;
            try {
                Invocation invocation = Inputs.bind(this, request.contentType(), request.body);
                Object result;
                try {
                    result = invocation.method.invoke(Modifier.isStatic(invocation.method.getModifiers()) ? null : instance,
                            invocation.arguments);
                } catch (InvocationTargetException e) {
                    throw new AlgorithmFailure(unwrap(e));
                }
                reply = Outputs.encode(invocation.method, result);
            } catch (InputFailure e) {
                reply = new Reply(Errors.meta(e, INPUT_ERROR), new byte[0]);
                reply.meta.addProperty("input_error", true);
            } catch (AlgorithmFailure e) {
                reply = new Reply(Errors.meta(e.getCause(), ALGORITHM_ERROR), new byte[0]);
            } catch (Throwable e) {
                reply = new Reply(Errors.meta(e, ALGORITHM_ERROR), new byte[0]);
            }
            reply.meta.addProperty("duration", (System.nanoTime() - started) / 1e9);
            if (request.meta.has("stdout") && request.meta.get("stdout").getAsBoolean()) {
                reply.meta.addProperty("stdout", capture.read());
            }
            return reply;
        }
    }

    /** The algorithm itself threw: its exception is the cause. */
    static final class AlgorithmFailure extends Exception {
        private static final long serialVersionUID = 1L;

        AlgorithmFailure(Throwable cause) {
            super(cause);
        }
    }

    /** The input does not decode, or cannot become apply's parameters. */
    static final class InputFailure extends Exception {
        private static final long serialVersionUID = 1L;

        InputFailure(String message) {
            super(message);
        }

        @Override
        public String toString() {
            return INPUT_ERROR + ": " + getMessage();  // the first line of its stack trace, which has no frames of the algorithm
        }
    }

    static final class Invocation {
        final Method method;
        final Object[] arguments;

        Invocation(Method method, Object... arguments) {
            this.method = method;
            this.arguments = arguments;
        }
    }

    static final class Inputs {
        static Invocation bind(Algorithm algorithm, String contentType, byte[] body) throws InputFailure {
            switch (contentType) {
                case "binary":
                    return binary(algorithm, body);
                case "json":
                    String text = new String(body, StandardCharsets.UTF_8);
                    JsonElement data;
                    try {
                        data = JsonParser.parseString(text);
                    } catch (JsonParseException e) {
                        throw new InputFailure("Invalid JSON input: " + rootMessage(e));
                    }
                    if (algorithm.jsonApply != null) {
                        return new Invocation(algorithm.jsonApply, text);
                    }
                    return json(algorithm, data);
                default:
                    return text(algorithm, new String(body, StandardCharsets.UTF_8));
            }
        }

        static Invocation text(Algorithm algorithm, String text) throws InputFailure {
            for (Method method : oneParameter(algorithm)) {
                Class<?> type = method.getParameterTypes()[0];
                if (type == String.class || type == CharSequence.class || type == Object.class) {
                    return new Invocation(method, text);
                }
            }
            // As the platform does: a text input may still become a number, a char, an enum ...
            return convertAny(algorithm, new JsonPrimitive(text), "text");
        }

        static Invocation binary(Algorithm algorithm, byte[] body) throws InputFailure {
            for (Method method : oneParameter(algorithm)) {
                Class<?> type = method.getParameterTypes()[0];
                if (type == byte[].class || type == Object.class) {
                    return new Invocation(method, (Object) body);
                }
                if (type == InputStream.class) {
                    return new Invocation(method, new ByteArrayInputStream(body));
                }
            }
            throw new InputFailure("Binary input needs an apply(byte[] input); this algorithm has "
                    + signatures(algorithm.applies) + ".");
        }

        static Invocation json(Algorithm algorithm, JsonElement data) throws InputFailure {
            if (data.isJsonArray()) {
                // The devcenter's apply(Map<String,String> dict, String key): an array is spread over
                // an apply taking as many parameters.
                JsonArray array = data.getAsJsonArray();
                for (Method method : algorithm.applies) {
                    if (method.getParameterCount() == array.size() && array.size() != 1) {
                        Object[] arguments = new Object[array.size()];
                        try {
                            Type[] types = method.getGenericParameterTypes();
                            for (int i = 0; i < arguments.length; i++) {
                                arguments[i] = convert(array.get(i), types[i], method.getParameterTypes()[i]);
                            }
                            return new Invocation(method, arguments);
                        } catch (RuntimeException e) {
                            // not this one: try the next, or the array as one input
                        }
                    }
                }
            }
            return convertAny(algorithm, data, "JSON");
        }

        private static Invocation convertAny(Algorithm algorithm, JsonElement data, String kind) throws InputFailure {
            List<Method> candidates = oneParameter(algorithm);
            if (candidates.isEmpty()) {
                throw new InputFailure("This algorithm's apply takes several parameters (" + signatures(algorithm.applies)
                        + "): give it a JSON array with one element per parameter.");
            }
            String best = null;  // why the best-fitting apply could not take it
            for (Method method : preferred(candidates, data)) {
                try {
                    return new Invocation(method, convert(data, method.getGenericParameterTypes()[0],
                            method.getParameterTypes()[0]));
                } catch (RuntimeException e) {
                    best = best != null ? best : rootMessage(e);
                }
            }
            throw new InputFailure("The " + kind + " input cannot be converted to " + signatures(candidates) + ": " + best);
        }

        static Object convert(JsonElement data, Type type, Class<?> raw) {
            if (raw == String.class && !data.isJsonPrimitive() && !data.isJsonNull()) {
                throw new JsonParseException("expected a string but got " + (data.isJsonArray() ? "an array" : "an object")
                        + " (annotate a single apply(String) with @AcceptsJson to receive the JSON text)");
            }
            if (raw == byte[].class && data.isJsonPrimitive()) {
                return java.util.Base64.getDecoder().decode(data.getAsString());
            }
            if (raw.isPrimitive() && data.isJsonNull()) {
                throw new JsonParseException("null cannot be a " + raw.getName());
            }
            if (raw == Object.class) {
                return GSON.fromJson(data, Object.class);
            }
            return GSON.fromJson(data, type);
        }

        /** Overloads whose parameter fits the JSON value's kind first: a string to a String, a number to a number ... */
        private static List<Method> preferred(List<Method> candidates, JsonElement data) {
            List<Method> ordered = new ArrayList<>(candidates);
            ordered.sort(Comparator.comparingInt(method -> fit(method.getParameterTypes()[0], data)));
            return ordered;
        }

        private static int fit(Class<?> type, JsonElement data) {
            boolean number = Number.class.isAssignableFrom(box(type));
            boolean text = type == String.class || type == CharSequence.class || box(type) == Character.class;
            boolean bool = box(type) == Boolean.class;
            if (data.isJsonPrimitive()) {
                JsonPrimitive primitive = data.getAsJsonPrimitive();
                if ((primitive.isNumber() && number) || (primitive.isString() && text) || (primitive.isBoolean() && bool)) {
                    return 0;
                }
                return type == Object.class ? 1 : 2;
            }
            if (number || text || bool) {
                return 3;
            }
            return type == Object.class ? 1 : 0;
        }

        private static Class<?> box(Class<?> type) {
            if (!type.isPrimitive()) {
                return type;
            }
            if (type == int.class) {
                return Integer.class;
            } else if (type == long.class) {
                return Long.class;
            } else if (type == double.class) {
                return Double.class;
            } else if (type == float.class) {
                return Float.class;
            } else if (type == short.class) {
                return Short.class;
            } else if (type == byte.class) {
                return Byte.class;
            } else if (type == char.class) {
                return Character.class;
            } else if (type == boolean.class) {
                return Boolean.class;
            }
            return type;
        }

        private static List<Method> oneParameter(Algorithm algorithm) {
            List<Method> found = new ArrayList<>();
            for (Method method : algorithm.applies) {
                if (method.getParameterCount() == 1) {
                    found.add(method);
                }
            }
            return found;
        }

        private static String signatures(Collection<Method> methods) {
            List<String> shown = new ArrayList<>();
            for (Method method : methods) {
                List<String> parameters = new ArrayList<>();
                for (Type type : method.getGenericParameterTypes()) {
                    parameters.add(type.getTypeName());
                }
                shown.add("apply(" + String.join(", ", parameters) + ")");
            }
            return String.join(" or ", shown);
        }

        private static String rootMessage(Throwable e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            return root.getMessage() != null ? root.getMessage() : root.toString();
        }
    }

    static final class Outputs {
        static Reply encode(Method method, Object result) {
            JsonObject meta = new JsonObject();
            meta.addProperty("type", "result");
            byte[] body;
            if (result instanceof byte[]) {
                meta.addProperty("content_type", "binary");
                body = (byte[]) result;
            } else if (result instanceof String && Algorithm.hasAnnotation(method, "ReturnsJson")) {
                try {
                    JsonParser.parseString((String) result);
                } catch (JsonParseException e) {
                    throw new IllegalStateException("apply is annotated @ReturnsJson but returned text that is not JSON: "
                            + e.getMessage(), e);
                }
                meta.addProperty("content_type", "json");
                body = ((String) result).getBytes(StandardCharsets.UTF_8);
            } else if (result instanceof String) {
                meta.addProperty("content_type", "text");
                body = ((String) result).getBytes(StandardCharsets.UTF_8);
            } else {
                meta.addProperty("content_type", "json");
                Type type = result == null ? Object.class : method.getGenericReturnType();
                body = GSON.toJson(result, type).getBytes(StandardCharsets.UTF_8);
            }
            return new Reply(meta, body);
        }
    }

    static final class Reply {
        final JsonObject meta;
        final byte[] body;

        Reply(JsonObject meta, byte[] body) {
            this.meta = meta;
            this.body = body;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Errors: the algorithm's message and its stack trace, without the runner's frames

    static final class Errors {
        static JsonObject meta(Throwable e, String errorType) {
            JsonObject error = new JsonObject();
            String message = e.getMessage();
            error.addProperty("message", message != null ? message : e.getClass().getName());
            error.addProperty("stacktrace", stackTrace(e));
            error.addProperty("error_type", errorType);
            JsonObject meta = new JsonObject();
            meta.addProperty("type", "error");
            meta.add("error", error);
            return meta;
        }

        static String stackTrace(Throwable e) {
            trim(e, Collections.newSetFromMap(new IdentityHashMap<>()));
            StringWriter text = new StringWriter();
            e.printStackTrace(new PrintWriter(text));
            return text.toString();
        }

        /** Drops the frames below the algorithm's own: the runner and the reflection that called apply (all
         *  of them when the runner itself failed, e.g. on an input it could not convert). */
        private static void trim(Throwable e, Set<Throwable> seen) {
            if (e == null || !seen.add(e)) {
                return;
            }
            StackTraceElement[] frames = e.getStackTrace();
            int end = frames.length;
            while (end > 0 && ours(frames[end - 1])) {
                end--;
            }
            if (end < frames.length) {
                e.setStackTrace(Arrays.copyOf(frames, end));
            }
            trim(e.getCause(), seen);
            for (Throwable suppressed : e.getSuppressed()) {
                trim(suppressed, seen);
            }
        }

        private static boolean ours(StackTraceElement frame) {
            String name = frame.getClassName();
            return name.startsWith("localcluster.runner.") || name.startsWith("jdk.internal.reflect.")
                    || name.startsWith("java.lang.reflect.") || name.startsWith("sun.reflect.");
        }
    }

    // -----------------------------------------------------------------------------------------
    // The per-call environment and the cluster's CA

    static final class CallEnvironment {
        private static Map<String, String> writable;

        /**
         * Each call brings its own session key (the previous one is revoked once that call ended), and
         * the platform's Java code reads it with System.getenv("ALGORITHMIA_API_KEY") whenever it builds
         * a request. Java cannot set its own environment, so the map behind System.getenv() is written
         * through: System.getenv() is an unmodifiable view of java.lang.ProcessEnvironment's map, and
         * its field "m" (needs --add-opens java.base/java.util=ALL-UNNAMED) is that map, whose put()
         * updates what System.getenv(name), System.getenv() and ProcessBuilder's children see.
         */
        static void enter(JsonObject meta) {
            if (!meta.has("env") || !meta.get("env").isJsonObject()) {
                return;
            }
            Map<String, String> env = writableEnv();
            for (Map.Entry<String, JsonElement> entry : meta.getAsJsonObject("env").entrySet()) {
                if (entry.getValue().isJsonPrimitive()) {
                    env.put(entry.getKey(), entry.getValue().getAsString());
                }
            }
        }

        @SuppressWarnings("unchecked")
        private static Map<String, String> writableEnv() {
            if (writable == null) {
                Map<String, String> view = System.getenv();
                try {
                    Field inner = view.getClass().getDeclaredField("m");
                    inner.setAccessible(true);
                    writable = (Map<String, String>) inner.get(view);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    throw new IllegalStateException("cannot apply the call's environment (the worker needs "
                            + "--add-opens java.base/java.util=ALL-UNNAMED): " + e, e);
                }
            }
            return writable;
        }

        /**
         * With TLS, the worker's REQUESTS_CA_BUNDLE is the cluster's CA (PEM). Python's requests trusts
         * that bundle and nothing else; here it becomes the default SSLContext, which java.net.http's
         * HttpClient and HttpsURLConnection use, with the same meaning: that CA and no other.
         */
        static void trustClusterCa() throws Exception {
            String bundle = System.getenv("REQUESTS_CA_BUNDLE");
            if (bundle == null || bundle.isEmpty()) {
                return;
            }
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            try (InputStream in = new FileInputStream(bundle)) {
                int n = 0;
                for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    store.setCertificateEntry("cluster-ca-" + n++, certificate);
                }
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            SSLContext.setDefault(context);
            HttpsURLConnection.setDefaultSSLSocketFactory(context.getSocketFactory());
        }
    }

    // -----------------------------------------------------------------------------------------
    // What a call prints

    static final class Capture {
        private final RandomAccessFile file;

        /** fd 1 is PATH (opened for appending by the wrapper): keep our own handle on it and unlink it. */
        Capture(String path) throws IOException {
            file = new RandomAccessFile(path, "rw");
            Files.deleteIfExists(Paths.get(path));
            // System.out in UTF-8 whatever the locale, as the call's stdout is returned as UTF-8.
            System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(new byte[0]));
        }

        void reset() {
            System.out.flush();
            try {
                file.setLength(0);
            } catch (IOException e) {
                System.err.println("localcluster java runner: cannot empty the stdout file: " + e);
            }
        }

        String read() {
            System.out.flush();
            try {
                long size = file.length();
                if (size == 0) {
                    return "";
                }
                byte[] data = new byte[(int) Math.min(size, Integer.MAX_VALUE - 8)];
                file.seek(0);
                file.readFully(data);
                return StandardCharsets.UTF_8.decode(ByteBuffer.wrap(data)).toString();
            } catch (IOException e) {
                return "";
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Frames

    static final class Frame {
        final JsonObject meta;
        final byte[] body;

        Frame(JsonObject meta, byte[] body) {
            this.meta = meta;
            this.body = body;
        }

        String contentType() {
            return meta.has("content_type") ? meta.get("content_type").getAsString() : "text";
        }
    }

    static final class Channel {
        private final DataInputStream in;
        private final OutputStream out;

        Channel(InputStream in, OutputStream out) {
            this.in = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16));
            this.out = out;
        }

        /** The next call, or null at the end of the pipe. */
        Frame receive() throws IOException {
            int metaLength;
            try {
                metaLength = in.readInt();
            } catch (EOFException e) {
                return null;
            }
            int bodyLength = in.readInt();
            byte[] meta = new byte[metaLength];
            byte[] body = new byte[bodyLength];
            try {
                in.readFully(meta);
                in.readFully(body);
            } catch (EOFException e) {
                return null;
            }
            JsonObject parsed = JsonParser.parseString(new String(meta, StandardCharsets.UTF_8)).getAsJsonObject();
            return new Frame(parsed, body);
        }

        void send(JsonObject meta, byte[] body) throws IOException {
            byte[] metaBytes = GSON.toJson(meta).getBytes(StandardCharsets.UTF_8);
            ByteBuffer header = ByteBuffer.allocate(8).putInt(metaBytes.length).putInt(body.length);
            byte[] frame = new byte[8 + metaBytes.length + body.length];
            System.arraycopy(header.array(), 0, frame, 0, 8);
            System.arraycopy(metaBytes, 0, frame, 8, metaBytes.length);
            System.arraycopy(body, 0, frame, 8 + metaBytes.length, body.length);
            out.write(frame);
            out.flush();
        }
    }

    static final class Fds {
        /** A stream on an inherited file descriptor (FileDescriptor(int) is private: --add-opens java.base/java.io). */
        static FileDescriptor open(int fd) throws IOException, ReflectiveOperationException {
            if (!new File("/proc/self/fd/" + fd).exists()) {
                throw new IOException("fd " + fd + " is not open");
            }
            Constructor<FileDescriptor> constructor = FileDescriptor.class.getDeclaredConstructor(int.class);
            constructor.setAccessible(true);
            return constructor.newInstance(fd);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Dying with the server

    static final class Parent {
        /**
         * A worker must never outlive the server, even a SIGKILLed one. Java has no PR_SET_PDEATHSIG, so
         * a daemon thread polls the parent (every 0.5 s): once the server is gone we are re-parented,
         * and the algorithm's children go with us. SIGTERM (the JVM's shutdown) takes them too.
         */
        static void watch(long parentPid) {
            Runtime.getRuntime().addShutdownHook(new Thread(Parent::killDescendants, "localcluster-children"));
            if (parentPid <= 0) {
                return;
            }
            Thread watcher = new Thread(() -> {
                while (true) {
                    long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
                    if (parent != parentPid) {
                        killDescendants();
                        Runtime.getRuntime().halt(0);
                    }
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "localcluster-parent-watch");
            watcher.setDaemon(true);
            watcher.start();
        }

        static void killDescendants() {
            ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        }
    }
}
