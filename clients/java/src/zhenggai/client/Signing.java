package zhenggai.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A request's signature, exactly as the README defines it: hex HMAC-SHA256 with the client's
 * secret over, joined by newlines, the method, the request target (path and query as sent),
 * the hex SHA-256 of the body, the timestamp, the nonce, the client, the actor header, then
 * the values of If-Match, Idempotency-Key and Prefer (each empty when absent).
 */
public final class Signing {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Signing() {}

    /** base64url (no padding) of {"id": …, "roles": [… sorted], "scope": [...]}. */
    public static String actorHeader(String id, List<String> roles, List<String> scope) {
        Map<String, Object> actor = new LinkedHashMap<>();
        actor.put("id", id);
        actor.put("roles", List.copyOf(new TreeSet<>(roles)));
        actor.put("scope", scope);
        byte[] raw = Json.write(actor).getBytes(StandardCharsets.UTF_8);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    public static String nonce() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String sha256Hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] hmacSha256(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String signature(
            String secret, String method, String target, byte[] body, String timestamp, String nonce,
            String client, String actor, String ifMatch, String idempotencyKey, String prefer) {
        String toSign = String.join("\n", method.toUpperCase(), target, sha256Hex(body), timestamp, nonce, client,
                actor, nz(ifMatch), nz(idempotencyKey), nz(prefer));
        byte[] mac = hmacSha256(secret.getBytes(StandardCharsets.UTF_8), toSign.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(mac);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
