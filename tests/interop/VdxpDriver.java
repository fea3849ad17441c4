// Drives the unmodified VNPT VDXP SDK (SDKVXP-2.0.0.jar) and the EdXML102 library against a docexchange hub.
// Compiled by tests/interop/test_vdxp_sdk.py into a temporary directory; the jars are read in place from
// ../shared/vendor/vdxp/ and never copied. One command per stdin line, one JSON answer per stdout line (prefixed
// with "@@ " so the SDK's own System.out chatter can be told apart). Like a real integrator (BKAV's ServiceVPCP),
// one KnobstickServiceImp and one AgencyServiceImp serve the whole run.

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.vnpt.xml.base.Content;
import com.vnpt.xml.base.attachment.Attachment;
import com.vnpt.xml.base.builder.BaseXmlBuilder;
import com.vnpt.xml.base.header.Bussiness;
import com.vnpt.xml.base.header.Header;
import com.vnpt.xml.base.header.Organization;
import com.vnpt.xml.base.header.SignerInfo;
import com.vnpt.xml.base.header.TraceHeader;
import com.vnpt.xml.base.header.TraceHeaderList;
import com.vnpt.xml.ed.Ed;
import com.vnpt.xml.ed.header.Code;
import com.vnpt.xml.ed.header.DocumentType;
import com.vnpt.xml.ed.header.MessageHeader;
import com.vnpt.xml.ed.header.OtherInfo;
import com.vnpt.xml.ed.header.PromulgationInfo;
import com.vnpt.xml.ed.parser.EdXmlParser;
import com.vpcp.services.AgencyServiceImp;
import com.vpcp.services.KnobstickServiceImp;
import com.vpcp.services.VnptProperties;
import com.vpcp.services.model.Agency;
import com.vpcp.services.model.BasicResult;
import com.vpcp.services.model.GetAgenciesResult;
import com.vpcp.services.model.GetChangeStatusResult;
import com.vpcp.services.model.GetEdocResult;
import com.vpcp.services.model.GetReceivedEdocResult;
import com.vpcp.services.model.GetSendEdocResult;
import com.vpcp.services.model.GetSynchronizeUnit;
import com.vpcp.services.model.Knobstick;
import com.vpcp.services.model.SendEdocResult;
import com.vpcp.services.model.StatusResult;
import com.vpcp.services.model.UnitSynchronize;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;

public class VdxpDriver {
    private static KnobstickServiceImp knobstick;
    private static AgencyServiceImp agencies;

    public static void main(String[] args) throws Exception {
        if (args.length >= 4) {
            VnptProperties props = new VnptProperties(args[0], args[1], args[2], args[3], 4, 3);
            knobstick = new KnobstickServiceImp(props);
            agencies = new AgencyServiceImp(props);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            String[] a = line.split("\t");
            JsonObject out;
            try {
                out = run(a);
            } catch (Throwable e) {
                out = new JsonObject();
                out.addProperty("driverError", e.getClass().getName() + ": " + e.getMessage());
            }
            out.addProperty("op", a[0]);
            System.out.println("@@ " + out.toString());
            System.out.flush();
        }
    }

    private static JsonObject basic(BasicResult r) {
        JsonObject o = new JsonObject();
        o.addProperty("isNull", r == null);
        if (r != null) {
            o.addProperty("status", r.getStatus());
            o.addProperty("ErrorCode", r.getErrorCode());
            o.addProperty("ErrorDesc", r.getErrorDesc());
        }
        return o;
    }

    private static JsonObject run(String[] a) throws Exception {
        switch (a[0]) {
            case "agencies": {
                GetAgenciesResult r = agencies.getAgenciesList("{}");
                JsonObject o = basic(r);
                JsonArray rows = new JsonArray();
                if (r != null && r.getAgencies() != null) {
                    for (Agency x : r.getAgencies()) {
                        JsonObject j = new JsonObject();
                        j.addProperty("code", x.getCode());
                        j.addProperty("id", x.getId());
                        j.addProperty("name", x.getName());
                        j.addProperty("mail", x.getMail());
                        j.addProperty("pid", x.getPid());
                        rows.add(j);
                    }
                }
                o.add("rows", rows);
                return o;
            }
            case "sync": {
                GetSynchronizeUnit r = agencies.getSynchronizeUnit("{}");
                JsonObject o = basic(r);
                JsonArray rows = new JsonArray();
                if (r != null && r.getUnitSynchronize() != null) {
                    for (UnitSynchronize x : r.getUnitSynchronize()) {
                        JsonObject j = new JsonObject();
                        j.addProperty("code", x.getCode());
                        j.addProperty("id", x.getId());
                        j.addProperty("pid", x.getPid());
                        j.addProperty("version", x.getVersion());
                        j.addProperty("centerCode", x.getCenterCode());
                        j.addProperty("deleted", x.isDeleted());
                        j.addProperty("modifyDate", x.getModifyDate());
                        j.addProperty("isAgency", x.getIsAgency());
                        rows.add(j);
                    }
                }
                o.add("rows", rows);
                return o;
            }
            case "send": { // send <file> <from> <to> <messagetype>
                JsonObject header = new JsonObject();
                header.addProperty("from", a[2]);
                header.addProperty("to", a[3]);
                header.addProperty("servicetype", "eDoc");
                header.addProperty("messagetype", a[4]);
                SendEdocResult r = knobstick.sendEdoc(header.toString(), a[1]);
                JsonObject o = basic(r);
                if (r != null) {
                    o.addProperty("DocId", r.getDocID());
                }
                return o;
            }
            case "received": { // received <messagetype>
                JsonObject header = new JsonObject();
                header.addProperty("servicetype", "eDoc");
                header.addProperty("messagetype", a[1]);
                GetReceivedEdocResult r = knobstick.getReceivedEdocList(header.toString());
                JsonObject o = basic(r);
                JsonArray rows = new JsonArray();
                if (r != null && r.getKnobsticks() != null) {
                    for (Knobstick k : r.getKnobsticks()) {
                        JsonObject j = new JsonObject();
                        j.addProperty("docId", k.getId());
                        j.addProperty("serviceType", k.getServiceType());
                        j.addProperty("messageType", k.getMessageType());
                        j.addProperty("from", k.getFrom());
                        j.addProperty("to", k.getTo());
                        j.addProperty("status", k.getStatus());
                        j.addProperty("created_time", k.getCreatedTime());
                        rows.add(j);
                    }
                }
                o.add("rows", rows);
                return o;
            }
            case "get": { // get <docId> <filePath>
                JsonObject header = new JsonObject();
                header.addProperty("filePath", a[2]);
                header.addProperty("docId", a[1]);
                GetEdocResult r = knobstick.getEdoc(header.toString());
                JsonObject o = basic(r);
                if (r != null) {
                    o.addProperty("filePath", r.getFilePath() == null ? "" : r.getFilePath());
                }
                return o;
            }
            case "ack": { // ack <docId> <status>
                JsonObject header = new JsonObject();
                header.addProperty("status", a[2]);
                header.addProperty("docid", a[1]);
                GetChangeStatusResult r = knobstick.updateStatus(header.toString());
                return basic(r);
            }
            case "sent": {
                GetSendEdocResult r = knobstick.getSentEdocList("{}");
                JsonObject o = basic(r);
                JsonArray rows = new JsonArray();
                if (r != null && r.getStatusResult() != null) {
                    for (StatusResult s : r.getStatusResult()) {
                        JsonObject j = new JsonObject();
                        j.addProperty("senderDocId", s.getSenderDocId());
                        j.addProperty("fromCode", s.getFromCode());
                        j.addProperty("toCode", s.getToCode());
                        j.addProperty("serviceType", s.getServiceType());
                        j.addProperty("title", s.getTitle());
                        j.addProperty("notation", s.getNotation());
                        j.addProperty("receiveStatus", s.getReceiveStatus());
                        rows.add(j);
                    }
                }
                o.add("rows", rows);
                return o;
            }
            case "edxml-parse": // edxml-parse <file>
                return parse(new File(a[1]));
            case "edxml-build": // edxml-build <outDir> <from> <to> <documentId> <attachment file>
                return build(a[1], a[2], a[3], a[4], new File(a[5]));
            default:
                throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
        }
        in.close();
        StringBuilder sb = new StringBuilder();
        for (byte b : md.digest()) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }

    private static JsonObject organ(Organization o) {
        JsonObject j = new JsonObject();
        j.addProperty("organId", o.getOrganId());
        j.addProperty("organName", o.getOrganName());
        j.addProperty("organizationInCharge", o.getOrganizationInCharge());
        j.addProperty("organAdd", o.getOrganAdd());
        j.addProperty("email", o.getEmail());
        j.addProperty("telephone", o.getTelephone());
        return j;
    }

    private static JsonObject parse(File file) throws Exception {
        Ed ed;
        try (InputStream in = new FileInputStream(file)) {
            ed = EdXmlParser.getInstance().parse(in);
        }
        MessageHeader h = (MessageHeader) ed.getHeader().getMessageHeader();
        JsonObject o = new JsonObject();
        o.add("from", organ(h.getFrom()));
        JsonArray toes = new JsonArray();
        for (Organization t : h.getToes()) {
            toes.add(organ(t));
        }
        o.add("to", toes);
        o.addProperty("codeNumber", h.getCode().getCodeNumber());
        o.addProperty("codeNotation", h.getCode().getCodeNotation());
        o.addProperty("place", h.getPromulgationInfo().getPlace());
        o.addProperty("promulgationDate",
                new SimpleDateFormat("yyyy/MM/dd").format(h.getPromulgationInfo().getPromulgationDate()));
        o.addProperty("type", h.getDocumentType().getType());
        o.addProperty("typeName", h.getDocumentType().getTypeName());
        o.addProperty("subject", h.getSubject());
        o.addProperty("content", h.getContent());
        o.addProperty("signerPosition", h.getSignerInfo().getPosition());
        o.addProperty("signerFullName", h.getSignerInfo().getFullName());
        o.addProperty("signerCompetence", h.getSignerInfo().getCompetence());
        o.addProperty("documentId", h.getDocumentId());
        o.addProperty("steeringType", h.getSteeringType());
        if (h.getOtherInfo() != null) {
            o.addProperty("priority", h.getOtherInfo().getPriority());
            o.addProperty("pageAmount", h.getOtherInfo().getPageAmount());
        }
        TraceHeaderList tr = ed.getHeader().getTraceHeaderList();
        if (tr != null && tr.getBussiness() != null) {
            o.addProperty("bussinessDocType", tr.getBussiness().getBussinessDocType());
            o.addProperty("bussinessDocumentId", tr.getBussiness().getDocumentId());
        }
        JsonArray atts = new JsonArray();
        for (Attachment att : ed.getAttachments()) {
            JsonObject j = new JsonObject();
            j.addProperty("name", att.getName());
            j.addProperty("contentType", att.getContentType());
            j.addProperty("description", att.getDescription());
            j.addProperty("sha256", sha256(att.getInputStream()));
            atts.add(j);
        }
        o.add("attachments", atts);
        return o;
    }

    private static JsonObject build(String outDir, String from, String to, String documentId, File attachment)
            throws Exception {
        Ed ed = new Ed();
        Organization sender = new Organization(from, "Sở Nội vụ thử nghiệm", "Sở Nội vụ thử nghiệm",
                "Số 1 Đường Thử", "sonoivu@example.gov.vn", "0123456789", "0123456788", "example.gov.vn");
        Organization recipient = new Organization(to, "UBND huyện thử nghiệm", "UBND huyện thử nghiệm",
                "Số 2 Đường Thử", "ubnd@example.gov.vn", "0223456789", "0223456788", "example.gov.vn");
        Date date = new SimpleDateFormat("yyyy/MM/dd").parse("2026/12/04");
        MessageHeader header = new MessageHeader(sender, Arrays.asList(recipient), new Code("215", "SNV-VP"),
                new PromulgationInfo("Nghệ An", date), new DocumentType(1, "Công văn"),
                "V/v thử nghiệm liên thông EdXML102", "V/v thử nghiệm liên thông EdXML102", null,
                new SignerInfo("KT. GIÁM ĐỐC", "Phó Giám đốc", "Nguyễn Văn Thử"), date, null, null);
        header.setDocumentId(documentId);
        header.setSteeringType(0);
        OtherInfo other = new OtherInfo();
        other.setPriority(0);
        other.setPageAmount(1);
        other.setPromulgationAmount(1);
        other.setSphereOfPromulgation("Liên thông văn bản quốc gia");
        other.setTyperNotation("TVC");
        header.setOtherInfo(other);
        TraceHeaderList trace = new TraceHeaderList();
        TraceHeader th = new TraceHeader();
        th.setOrganId(from);
        th.setTimestamp(date);
        trace.addTraceHeader(th);
        Bussiness b = new Bussiness();
        b.setBussinessDocType("0");
        b.setBussinessDocReason("Văn bản điện tử mới");
        b.setDocumentId(documentId);
        b.setPaper("0");
        trace.setBussiness(b);
        ed.setHeader(new Header(header, trace));
        ed.addAttachment(new Attachment("1", attachment.getName(), "Văn bản chính", attachment));
        new File(outDir).mkdirs();
        Content content = BaseXmlBuilder.build(ed, outDir);
        JsonObject o = new JsonObject();
        o.addProperty("path", content.getContent().getPath());
        o.addProperty("attachmentSha256", sha256(new FileInputStream(attachment)));
        return o;
    }
}
