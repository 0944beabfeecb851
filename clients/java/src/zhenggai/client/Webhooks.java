package zhenggai.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * Verifies a webhook delivery by the Standard Webhooks specification: {@code webhook-signature}
 * holds {@code v1,<base64>} of HMAC-SHA256 over {@code id.timestamp.body}, with the key the
 * secret stands for (as the server reads it); a timestamp more than five minutes off is refused.
 */
public final class Webhooks {
    private static final long TOLERANCE_SECONDS = 300;
    private final byte[] key;

    /**
     * The secret as the server is configured with it: {@code whsec_} + Base64 of the key, or a
     * plain secret whose UTF-8 bytes are the key (as the server reads it).
     */
    public Webhooks(String secret) {
        this.key = secret.startsWith("whsec_")
                ? Base64.getDecoder().decode(secret.substring(6))
                : secret.getBytes(StandardCharsets.UTF_8);
    }

    /** The verified event (the CloudEvents envelope), or a ZhenggaiException (401, webhook_signature). */
    public Map<String, Object> verify(Map<String, String> headers, byte[] body) {
        return verify(headers, body, Instant.now());
    }

    public Map<String, Object> verify(Map<String, String> headers, byte[] body, Instant now) {
        Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        h.putAll(headers);
        String id = h.get("webhook-id"), ts = h.get("webhook-timestamp"), sigs = h.get("webhook-signature");
        if (id == null || ts == null || sigs == null) throw refused("the webhook-* headers are missing");
        long when;
        try {
            when = Long.parseLong(ts);
        } catch (NumberFormatException e) {
            throw refused("webhook-timestamp is not a number");
        }
        if (Math.abs(now.getEpochSecond() - when) > TOLERANCE_SECONDS) throw refused("webhook-timestamp is too far from now");
        byte[] signed = (id + "." + ts + ".").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[signed.length + body.length];
        System.arraycopy(signed, 0, all, 0, signed.length);
        System.arraycopy(body, 0, all, signed.length, body.length);
        byte[] expected = Signing.hmacSha256(key, all);
        for (String versioned : sigs.split(" ")) {
            int comma = versioned.indexOf(',');
            if (comma < 0 || !versioned.substring(0, comma).equals("v1")) continue;
            byte[] given;
            try {
                given = Base64.getDecoder().decode(versioned.substring(comma + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (MessageDigest.isEqual(expected, given)) return Json.object(new String(body, StandardCharsets.UTF_8));
        }
        throw refused("no signature matches");
    }

    private static ZhenggaiException refused(String en) {
        return new ZhenggaiException(401, "webhook_signature", "Webhook 签名无效：" + en, "the webhook delivery does not verify: " + en, Map.of());
    }
}
