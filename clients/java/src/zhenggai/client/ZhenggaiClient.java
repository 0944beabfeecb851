package zhenggai.client;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The zhenggai HTTP API for one OA system (a client with its name and secret), with the JDK
 * alone. Every request is signed for the user it acts for; every POST carries an
 * Idempotency-Key and is retried under the same key (signed afresh) when the connection fails
 * or the server answers 503 or 409 request_in_progress; a write may carry If-Match; an answer
 * that is not a success is thrown as a {@link ZhenggaiException}.
 */
public final class ZhenggaiClient {
    /** Who a request acts for: the user, the roles asserted, the org units (scope). */
    public record Actor(String id, List<String> roles, List<String> scope) {
        public static Actor of(String id, String role, String... scope) {
            return new Actor(id, List.of(role), scope.length == 0 ? List.of("*") : List.of(scope));
        }
    }

    /** A success: status, the ETag's version (or -1) and the JSON body. */
    public record Answer(int status, long version, Object body) {
        @SuppressWarnings("unchecked")
        public Map<String, Object> object() { return (Map<String, Object>) body; }
    }

    private final String base;
    private final String client;
    private final String secret;
    private final HttpClient http;
    private int attempts = 4;
    private Duration firstDelay = Duration.ofMillis(200);

    public ZhenggaiClient(String baseUrl, String client, String secret) {
        this.base = baseUrl.replaceAll("/+$", "");
        this.client = client;
        this.secret = secret;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)  // no h2c upgrade: the server speaks HTTP/1.1
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** How many times a request is tried in all, and the first wait (doubling). */
    public ZhenggaiClient retries(int attempts, Duration firstDelay) {
        this.attempts = Math.max(1, attempts);
        this.firstDelay = firstDelay;
        return this;
    }

    public static String path(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    // --- the calls an OA system makes most -------------------------------------------------

    /** Issues inside the actor's scope; {@code query} such as {@code Map.of("owner", "li.ming")}. */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> issues(Actor actor, Map<String, String> query) {
        StringBuilder t = new StringBuilder("/issues");
        char sep = '?';
        for (Map.Entry<String, String> e : query.entrySet()) {
            t.append(sep).append(path(e.getKey())).append('=').append(path(e.getValue()));
            sep = '&';
        }
        Map<String, Object> page = request("GET", t.toString(), null, actor, null, null, null).object();
        return (List<Map<String, Object>>) page.get("items");
    }

    /**
     * The user's to-dos (我的待办): the issues on which a step is open to them now, whatever
     * their role on it — owner, unit lead, reviewer, office — red first, then by deadline.
     */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> todos(Actor actor) {
        Map<String, Object> page = request("GET", "/todo?limit=1000", null, actor, null, null, null).object();
        return (List<Map<String, Object>>) page.get("items");
    }

    /** One issue, with its version (the ETag) to send back as If-Match. */
    public Answer issue(Actor actor, String code) {
        return request("GET", "/issues/" + path(code), null, actor, null, null, null);
    }

    /**
     * Fire a trigger as {@code role}; {@code expectedVersion} (or -1) is sent as If-Match, so
     * an issue that moved on meanwhile is refused with 412 precondition_failed.
     */
    public Answer fire(Actor actor, String code, String trigger, String role, String comment, long expectedVersion,
                       String idempotencyKey) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("role", role);
        if (comment != null) body.put("comment", comment);
        String ifMatch = expectedVersion >= 0 ? "\"" + expectedVersion + "\"" : null;
        return request("POST", "/issues/" + path(code) + "/transitions/" + path(trigger), body, actor, ifMatch,
                idempotencyKey, null);
    }

    // --- any request ------------------------------------------------------------------------

    /**
     * Send one signed request. A POST without {@code idempotencyKey} gets a fresh one, kept for
     * every retry of it.
     */
    public Answer request(String method, String target, Object body, Actor actor, String ifMatch,
                          String idempotencyKey, String prefer) {
        byte[] raw = body == null ? new byte[0] : Json.write(body).getBytes(StandardCharsets.UTF_8);
        String key = idempotencyKey;
        if (key == null && method.equals("POST")) key = UUID.randomUUID().toString();
        String actorHeader = Signing.actorHeader(actor.id(), actor.roles(), actor.scope());
        Duration wait = firstDelay;
        IOException lastIo = null;
        ZhenggaiException lastRefusal = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            if (attempt > 1) sleep(wait);
            if (attempt > 1) wait = wait.multipliedBy(2);
            String ts = Long.toString(System.currentTimeMillis() / 1000);
            String nonce = Signing.nonce();
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + target))
                    .timeout(Duration.ofSeconds(60))
                    .header("X-Zhenggai-Client", client)
                    .header("X-Zhenggai-Actor", actorHeader)
                    .header("X-Zhenggai-Timestamp", ts)
                    .header("X-Zhenggai-Nonce", nonce)
                    .header("X-Zhenggai-Signature", Signing.signature(secret, method, target, raw, ts, nonce, client,
                            actorHeader, ifMatch, key, prefer))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(raw));
            if (body != null) b.header("Content-Type", "application/json");
            if (ifMatch != null) b.header("If-Match", ifMatch);
            if (key != null) b.header("Idempotency-Key", key);
            if (prefer != null) b.header("Prefer", prefer);
            HttpResponse<String> resp;
            try {
                resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                lastIo = e;  // the connection failed: the same key makes the retry safe
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            int status = resp.statusCode();
            if (status >= 200 && status < 300) {
                long version = resp.headers().firstValue("ETag").map(ZhenggaiClient::version).orElse(-1L);
                String text = resp.body();
                return new Answer(status, version, text.isEmpty() ? null : Json.parse(text));
            }
            ZhenggaiException refusal = ZhenggaiException.from(status, resp.body());
            boolean again = status == 503 || (status == 409 && refusal.code().equals("request_in_progress"));
            if (!again) throw refusal;
            lastRefusal = refusal;
        }
        if (lastRefusal != null) throw lastRefusal;
        throw new ZhenggaiException(0, "unreachable", "无法连接 zhenggai 服务：" + lastIo,
                "cannot reach the zhenggai service: " + lastIo, Map.of());
    }

    private static long version(String etag) {
        try {
            return Long.parseLong(etag.replace("W/", "").replace("\"", ""));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
