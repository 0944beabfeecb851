package zhenggai.client;

import java.util.Map;

/**
 * An answer of the API that is not a success: its application/problem+json body, with the
 * engine's stable {@code code} and the message in both languages.
 */
public class ZhenggaiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String code;
    private final String messageZh;
    private final String messageEn;
    private final transient Map<String, Object> problem;

    public ZhenggaiException(int status, String code, String messageZh, String messageEn, Map<String, Object> problem) {
        super(code + " (" + status + "): " + messageZh + " / " + messageEn);
        this.status = status;
        this.code = code;
        this.messageZh = messageZh;
        this.messageEn = messageEn;
        this.problem = problem;
    }

    @SuppressWarnings("unchecked")
    static ZhenggaiException from(int status, String body) {
        Map<String, Object> p;
        try {
            p = Json.object(body);
        } catch (RuntimeException e) {
            return new ZhenggaiException(status, "http_" + status, body, body, Map.of());
        }
        Object m = p.get("message");
        Map<String, Object> msg = m instanceof Map ? (Map<String, Object>) m : Map.of();
        String detail = String.valueOf(p.getOrDefault("detail", ""));
        return new ZhenggaiException(status, String.valueOf(p.getOrDefault("code", "http_" + status)),
                String.valueOf(msg.getOrDefault("zh", detail)), String.valueOf(msg.getOrDefault("en", detail)), p);
    }

    /** The HTTP status (401, 403, 404, 409, 412, 422 …). */
    public int status() { return status; }

    /** The engine's stable code: {@code guard_failed}, {@code not_found}, {@code precondition_failed} … */
    public String code() { return code; }

    public String messageZh() { return messageZh; }

    public String messageEn() { return messageEn; }

    /** The whole problem document (the field at fault, every failed rule …). */
    public Map<String, Object> problem() { return problem; }
}
