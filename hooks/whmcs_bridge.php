<?php
/**
 * whmcs-bridge hook for WHMCS: signs billing events and POSTs them to the whmcs-bridge daemon.
 *
 * Install: `whmcs-bridge install-hook --whmcs-root /path/to/whmcs` copies this file to
 * includes/hooks/whmcs_bridge.php with the URL and secret filled in (or set the environment
 * variables WHMCS_BRIDGE_URL and WHMCS_BRIDGE_WEBHOOK_SECRET for the PHP process).
 *
 * Guarantees:
 * - Only allow-listed variables leave WHMCS, per hook: never passwords, server passwords or access
 *   hashes, 2FA data, card data or model objects. (Variables: WHMCS/developer-docs hooks-reference.)
 *   EmailPreLog forwards the rendered message: contact delegation copies it to delegates. It also
 *   carries `messagename` and `relid` of the EmailPreSend that announced it (what the email is and
 *   which service, domain or invoice it is about), only when the hook is sure which one that was;
 *   EmailPreSend's merge fields never leave WHMCS.
 * - A second copy of this file in includes/hooks stands aside: no "Cannot redeclare", no event sent twice.
 * - WHMCS is never blocked for more than about 2 seconds, and nothing here throws into WHMCS.
 * - When the daemon is unreachable, events are spooled to a private folder and resent oldest first
 *   (on AfterCronJob, and before any newer event), keeping their webhook-id so the daemon dedupes.
 *   A resend is signed again with a fresh timestamp (the daemon refuses timestamps older than 5 minutes).
 *   The folder must belong to the PHP user and be private (0700): one another local user made (a
 *   planted folder under a shared temp dir) is neither read nor written, and the refusal is logged.
 *   The spool is bounded: at most WHMCS_BRIDGE_SPOOL_MAX_FILES events, none older than
 *   WHMCS_BRIDGE_SPOOL_MAX_DAYS days; what is dropped is logged in WHMCS's activity log.
 * - An event larger than the daemon accepts (a long email) is trimmed, its message cut with a marker,
 *   rather than refused and lost.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

// WHMCS includes every .php file of includes/hooks: a second copy of this file (a backup, an older
// version) must not redeclare anything (a fatal error on every WHMCS page) nor send each event twice.
// The copy loaded first does the work; any later one stands aside here. Functions sit inside
// `if (!function_exists(...))` because PHP declares top-level functions when it compiles the file,
// before this check could run.
if (defined('WHMCS_BRIDGE_HOOK_VERSION') || function_exists('whmcs_bridge_emit')) {
    return;
}

// 2: EmailPreLog events carry the template name and related id of EmailPreSend.
define('WHMCS_BRIDGE_HOOK_VERSION', 2);
// The daemon accepts bodies up to receiver.max_body_kib (256 KiB by default): stay well under it.
define('WHMCS_BRIDGE_MAX_BODY', 200000);
define('WHMCS_BRIDGE_SPOOL_MAX_FILES', 10000);
define('WHMCS_BRIDGE_SPOOL_MAX_DAYS', 30);

if (!function_exists('whmcs_bridge_config')) {
    function whmcs_bridge_config()
    {
        static $config = null;
        if ($config === null) {
            $config = array(
                'url' => getenv('WHMCS_BRIDGE_URL') ?: '__WHMCS_BRIDGE_URL__',
                'secret' => getenv('WHMCS_BRIDGE_WEBHOOK_SECRET') ?: '__WHMCS_BRIDGE_SECRET__',
                'spool_dir' => getenv('WHMCS_BRIDGE_SPOOL_DIR') ?: '__WHMCS_BRIDGE_SPOOL_DIR__',
                // Seconds one hook may spend talking to the daemon; AfterCronJob gets longer to drain the spool.
                'budget' => 2.0,
                'cron_budget' => 25.0,
            );
            if (strpos($config['spool_dir'], '__WHMCS_BRIDGE') === 0) {
                $config['spool_dir'] = rtrim(sys_get_temp_dir(), '/') . '/whmcs-bridge-spool';
            }
        }
        return $config;
    }
}

if (!function_exists('whmcs_bridge_allowed')) {
    /** Per hook: the variables that may leave WHMCS. A nested array allow-lists the keys of that variable. */
    function whmcs_bridge_allowed()
    {
        $client = array('userid', 'client_id', 'user_id', 'firstname', 'lastname', 'companyname', 'email',
            'country', 'groupid', 'status', 'language', 'uuid');
        $contact = array('userid', 'contactid', 'firstname', 'lastname', 'companyname', 'email',
            'generalemails', 'productemails', 'domainemails', 'invoiceemails', 'supportemails', 'affiliateemails');
        $module = array('params' => array('serviceid', 'userid', 'pid', 'serverid', 'domain', 'username',
            'producttype', 'moduletype', 'customfields' => '*', 'configoptions' => '*'));
        return array(
            'InvoicePaid' => array('invoiceid'),
            'InvoiceUnpaid' => array('invoiceid'),
            'InvoiceCreated' => array('source', 'user', 'invoiceid', 'status'),
            'InvoiceCancelled' => array('invoiceid'),
            'InvoiceRefunded' => array('invoiceid'),
            'InvoicePaymentReminder' => array('invoiceid', 'type'),
            'AddInvoiceLateFee' => array('invoiceid'),
            'AddInvoicePayment' => array('invoiceid'),
            'AfterModuleSuspend' => $module,
            'AfterModuleUnsuspend' => $module,
            'AfterModuleTerminate' => $module,
            'ClientAdd' => $client,
            'ClientEdit' => array_merge($client, array('olddata' => $client)),
            'ContactAdd' => $contact,
            'ContactEdit' => array_merge($contact, array('olddata' => $contact)),
            'UserAdd' => array('user_id', 'firstname', 'lastname', 'email', 'language'),
            'AcceptOrder' => array('orderid'),
            'CancelOrder' => array('orderid'),
            'FraudOrder' => array('orderid'),
            'AfterShoppingCartCheckout' => array('OrderID', 'OrderNumber', 'ServiceIDs' => '*', 'AddonIDs' => '*',
                'DomainIDs' => '*', 'RenewalIDs' => '*', 'InvoiceID', 'TotalDue', 'PaymentMethod'),
            'TicketOpen' => array('ticketid', 'ticketmask', 'userid', 'deptid', 'deptname', 'subject', 'message', 'priority'),
            'TicketUserReply' => array('ticketid', 'replyid', 'userid', 'deptid', 'deptname', 'subject', 'message',
                'priority', 'status'),
            // A staff note names neither the note nor its ticket's client (hooks-reference/ticket.md): the
            // bridge's poll reads the note with its id (GetTicket `notes`); never its attachments.
            'TicketAddNote' => array('ticketid', 'message', 'adminid'),
            'ServiceEdit' => array('userid', 'serviceid'),
            'EmailPreLog' => array('userid', 'date', 'to', 'cc', 'bcc', 'subject', 'message'),
            'DailyCronJob' => array(),
            'AfterCronJob' => array(),
        );
    }
}

if (!function_exists('whmcs_bridge_filter')) {
    /** Keep only allow-listed keys; '*' keeps a list or map of scalars; objects are never forwarded. */
    function whmcs_bridge_filter($vars, $allowed)
    {
        $out = array();
        if (!is_array($vars)) {
            return $out;
        }
        foreach ($allowed as $key => $rule) {
            if (is_int($key)) {
                $key = $rule;
                $rule = null;
            }
            if (!array_key_exists($key, $vars)) {
                continue;
            }
            $value = $vars[$key];
            if ($rule === null) {
                if (is_scalar($value) || $value === null) {
                    $out[$key] = $value;
                }
            } elseif ($rule === '*') {
                if (is_array($value)) {
                    $out[$key] = array_filter($value, function ($item) {
                        return is_scalar($item) || $item === null;
                    });
                }
            } elseif (is_array($value)) {
                $out[$key] = whmcs_bridge_filter($value, $rule);
            }
        }
        return $out;
    }
}

if (!function_exists('whmcs_bridge_actor')) {
    /** Who caused the event (WHMCS 8 CurrentUser), when known: ids only. */
    function whmcs_bridge_actor()
    {
        $actor = array();
        try {
            if (class_exists('\WHMCS\Authentication\CurrentUser')) {
                $current = new \WHMCS\Authentication\CurrentUser();
                if ($current->isAuthenticatedAdmin() && $current->admin()) {
                    $actor['admin_id'] = (int) $current->admin()->id;
                }
                if ($current->isAuthenticatedUser() && $current->user()) {
                    $actor['user_id'] = (int) $current->user()->id;
                }
                if ($current->client()) {
                    $actor['client_id'] = (int) $current->client()->id;
                }
                $actor['masquerading'] = (bool) $current->isMasqueradingAdmin();
            }
        } catch (\Throwable $e) {
            return array();
        }
        return $actor;
    }
}

if (!function_exists('whmcs_bridge_system_url')) {
    function whmcs_bridge_system_url()
    {
        global $CONFIG;
        return (is_array($CONFIG) && isset($CONFIG['SystemURL'])) ? (string) $CONFIG['SystemURL'] : '';
    }
}

if (!function_exists('whmcs_bridge_email_template')) {
    /**
     * EmailPreSend has the template name and related id but not the rendered message; EmailPreLog has the
     * message but neither (hooks-reference/everything-else.md). Each EmailPreSend of the request is kept
     * (never its merge fields, which carry passwords: only the client id, to pair by client) until an
     * EmailPreLog of its client takes it. The pairing fails closed: when a second EmailPreSend comes for
     * a client while one is still pending (a send another hook aborted, a nested or interleaved send),
     * no EmailPreLog of that client gets a name for the rest of the request, since a log may still come
     * late. A client id the hook does not know could be any client's. Called with EmailPreSend's
     * variables to keep, or with null and EmailPreLog's client id to take: the announcement, or null.
     */
    function whmcs_bridge_email_template($presend = null, $userid = null)
    {
        static $pending = array();  // announcements not yet logged, oldest first
        static $doubtful = array();  // client id => true; '*' => true: every client
        $same = function ($a, $b) {
            return $a === null || $b === null || $a === $b;
        };
        if ($presend !== null) {
            $merge = isset($presend['mergefields']) && is_array($presend['mergefields']) ? $presend['mergefields'] : array();
            $client = isset($merge['client_id']) && is_numeric($merge['client_id']) ? (int) $merge['client_id'] : null;
            foreach ($pending as $earlier) {
                if ($same($earlier['client_id'], $client)) {
                    foreach (array($earlier['client_id'], $client) as $unsure) {
                        $doubtful[$unsure === null ? '*' : $unsure] = true;
                    }
                }
            }
            $pending[] = array(
                'messagename' => isset($presend['messagename']) && is_scalar($presend['messagename'])
                    ? (string) $presend['messagename'] : '',
                'relid' => isset($presend['relid']) && is_numeric($presend['relid']) ? (int) $presend['relid'] : 0,
                'client_id' => $client,
            );
            return null;
        }
        $matching = array_keys(array_filter($pending, function ($announced) use ($same, $userid) {
            return $same($announced['client_id'], $userid);
        }));
        if (!$matching) {
            return null;  // announced by nobody: a custom message
        }
        $taken = $pending[$matching[0]];
        unset($pending[$matching[0]]);
        $pending = array_values($pending);
        $unsure = isset($doubtful['*']) || ($userid === null ? (bool) $doubtful : isset($doubtful[$userid]));
        return ($unsure || count($matching) > 1) ? null : $taken;
    }
}

if (!function_exists('whmcs_bridge_with_template')) {
    /** EmailPreLog's data with the template name and related id of the email it logs, when known for sure. */
    function whmcs_bridge_with_template($data, $vars)
    {
        $userid = isset($vars['userid']) && is_numeric($vars['userid']) ? (int) $vars['userid'] : null;
        $template = whmcs_bridge_email_template(null, $userid);
        if ($template === null || $template['messagename'] === '') {
            return $data;
        }
        $data['messagename'] = $template['messagename'];
        $data['relid'] = $template['relid'];
        return $data;
    }
}

if (!function_exists('whmcs_bridge_body')) {
    function whmcs_bridge_body($hook, $vars)
    {
        $allowed = whmcs_bridge_allowed();
        $event = array(
            'type' => $hook,
            'occurred_at' => gmdate('Y-m-d\TH:i:s\Z'),
            'source' => array('whmcs_url' => whmcs_bridge_system_url(), 'hook_version' => WHMCS_BRIDGE_HOOK_VERSION),
            'data' => whmcs_bridge_filter($vars, isset($allowed[$hook]) ? $allowed[$hook] : array()),
        );
        if ($hook === 'EmailPreLog') {
            $event['data'] = whmcs_bridge_with_template($event['data'], $vars);
        }
        $event['data'] = (object) $event['data'];
        $actor = whmcs_bridge_actor();
        if ($actor) {
            $event['actor'] = $actor;
        }
        $json = whmcs_bridge_json($event);
        if ($json !== null && strlen($json) > WHMCS_BRIDGE_MAX_BODY) {
            $json = whmcs_bridge_json(whmcs_bridge_trim($event, strlen($json) - WHMCS_BRIDGE_MAX_BODY));
        }
        return $json;
    }
}

if (!function_exists('whmcs_bridge_json')) {
    function whmcs_bridge_json($event)
    {
        $json = json_encode($event, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        return $json === false ? null : $json;
    }
}

if (!function_exists('whmcs_bridge_trim')) {
    /** Cut the event's message by $excess bytes (and a little room for the marker), saying so at its end. */
    function whmcs_bridge_trim($event, $excess)
    {
        $data = (array) $event['data'];
        if (!isset($data['message']) || !is_string($data['message'])) {
            return $event;
        }
        $message = $data['message'];
        $keep = max(0, strlen($message) - $excess - 1024);
        $cut = function_exists('mb_strcut') ? mb_strcut($message, 0, $keep, 'UTF-8') : substr($message, 0, $keep);
        $data['message'] = $cut . "\n[whmcs-bridge: message cut, " . strlen($message) . " bytes in all]";
        $event['data'] = (object) $data;
        return $event;
    }
}

if (!function_exists('whmcs_bridge_sign')) {
    function whmcs_bridge_sign($secret, $id, $timestamp, $body)
    {
        $key = base64_decode(strpos($secret, 'whsec_') === 0 ? substr($secret, 6) : $secret, true);
        return 'v1,' . base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, (string) $key, true));
    }
}

if (!function_exists('whmcs_bridge_post')) {
    /** POST one event; returns 'ok', 'drop' (refused for good: bad body) or 'retry'. */
    function whmcs_bridge_post($id, $body, $seconds)
    {
        $config = whmcs_bridge_config();
        if (!function_exists('curl_init') || $seconds <= 0.05) {
            return 'retry';
        }
        $timestamp = time();
        $ch = curl_init($config['url']);
        curl_setopt_array($ch, array(
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_CONNECTTIMEOUT_MS => (int) min(1000, $seconds * 1000),
            CURLOPT_TIMEOUT_MS => (int) ($seconds * 1000),
            CURLOPT_HTTPHEADER => array(
                'Content-Type: application/json',
                'webhook-id: ' . $id,
                'webhook-timestamp: ' . $timestamp,
                'webhook-signature: ' . whmcs_bridge_sign($config['secret'], $id, $timestamp, $body),
            ),
        ));
        curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_HTTP_CODE);
        curl_close($ch);
        if ($status >= 200 && $status < 300) {
            return 'ok';
        }
        if (in_array($status, array(400, 413, 415), true)) {
            whmcs_bridge_log("event $id refused by the daemon (HTTP $status); not resent");
            return 'drop';
        }
        return 'retry';  // unreachable, timeout, 401 (secret being fixed), 5xx: keep it
    }
}

if (!function_exists('whmcs_bridge_log')) {
    function whmcs_bridge_log($message)
    {
        if (function_exists('logActivity')) {
            try {
                logActivity('whmcs-bridge: ' . $message);
            } catch (\Throwable $e) {
            }
        }
    }
}

if (!function_exists('whmcs_bridge_spool_dir')) {
    /** The spool folder, if it is ours and private; null (and one log line per request) otherwise. */
    function whmcs_bridge_spool_dir()
    {
        static $refused = false;
        $dir = whmcs_bridge_config()['spool_dir'];
        if (!is_dir($dir)) {
            @mkdir($dir, 0700, true);
        }
        if (!is_dir($dir) || !is_writable($dir)) {
            return null;
        }
        clearstatcache(true, $dir);
        $me = function_exists('posix_geteuid') ? posix_geteuid() : null;
        $ours = $me === null || @fileowner($dir) === $me;
        if ($ours && (@fileperms($dir) & 0077) === 0) {
            return $dir;
        }
        if (!$refused) {
            $refused = true;
            whmcs_bridge_log("the spool folder $dir is refused: it must belong to the PHP user and be private (mode 0700); "
                . 'remove it or set another with install-hook --spool-dir');
        }
        return null;
    }
}

if (!function_exists('whmcs_bridge_spool')) {
    function whmcs_bridge_spool($id, $body)
    {
        $dir = whmcs_bridge_spool_dir();
        if ($dir === null) {
            whmcs_bridge_log("cannot spool event $id: there is no usable spool folder; the event is lost");
            return;
        }
        whmcs_bridge_bound_spool($dir);
        // File names sort oldest first: time with microseconds, a counter, then the webhook id.
        static $counter = 0;
        $counter++;
        $name = sprintf('%017.6f-%06d-%s.json', microtime(true), $counter, preg_replace('/[^A-Za-z0-9_]/', '', $id));
        $tmp = $dir . '/.' . $name . '.tmp';
        if (@file_put_contents($tmp, $body, LOCK_EX) !== false) {
            @chmod($tmp, 0600);
            @rename($tmp, $dir . '/' . $name);
        }
    }
}

if (!function_exists('whmcs_bridge_bound_spool')) {
    /** Keep the spool bounded: drop events past the age limit, then the oldest past the count limit. */
    function whmcs_bridge_bound_spool($dir)
    {
        $files = glob($dir . '/*.json') ?: array();
        sort($files, SORT_STRING);
        $max_files = (int) (getenv('WHMCS_BRIDGE_SPOOL_MAX_FILES') ?: WHMCS_BRIDGE_SPOOL_MAX_FILES);
        $oldest = time() - 86400 * (int) (getenv('WHMCS_BRIDGE_SPOOL_MAX_DAYS') ?: WHMCS_BRIDGE_SPOOL_MAX_DAYS);
        $left = count($files);
        foreach ($files as $file) {
            $spooled_at = (float) basename($file);
            if ($spooled_at >= $oldest && $left < $max_files) {
                break;
            }
            @unlink($file);
            $left--;
            whmcs_bridge_log('spool full or too old: dropped event ' . basename($file, '.json'));
        }
    }
}

if (!function_exists('whmcs_bridge_spooled')) {
    function whmcs_bridge_spooled()
    {
        $dir = whmcs_bridge_spool_dir();
        if ($dir === null) {
            return array();
        }
        $files = glob($dir . '/*.json') ?: array();
        sort($files, SORT_STRING);
        return $files;
    }
}

if (!function_exists('whmcs_bridge_flush')) {
    /** Resend spooled events oldest first until one fails or the time budget is spent. */
    function whmcs_bridge_flush($deadline)
    {
        $dir = whmcs_bridge_spool_dir();
        if ($dir === null) {
            return true;
        }
        $lock = @fopen($dir . '/.lock', 'c');
        if ($lock === false || !flock($lock, LOCK_EX | LOCK_NB)) {
            return false;  // another WHMCS process is flushing; keep order by not racing it
        }
        $drained = true;
        foreach (whmcs_bridge_spooled() as $file) {
            $left = $deadline - microtime(true);
            $body = @file_get_contents($file);
            if ($body === false) {
                continue;
            }
            $id = preg_replace('/^[0-9.]+-[0-9]+-/', '', basename($file, '.json'));
            $outcome = whmcs_bridge_post($id, $body, min(2.0, $left));
            if ($outcome === 'retry') {
                $drained = false;
                break;
            }
            @unlink($file);
        }
        flock($lock, LOCK_UN);
        fclose($lock);
        return $drained;
    }
}

if (!function_exists('whmcs_bridge_emit')) {
    function whmcs_bridge_emit($hook, $vars)
    {
        try {
            $config = whmcs_bridge_config();
            $started = microtime(true);
            $budget = $hook === 'AfterCronJob' ? $config['cron_budget'] : $config['budget'];
            $deadline = $started + $budget;
            $body = whmcs_bridge_body($hook, $vars);
            if ($body === null) {
                whmcs_bridge_log("cannot encode the $hook event");
                return;
            }
            $id = 'msg_' . bin2hex(random_bytes(16));
            if (whmcs_bridge_spooled()) {
                // Older events wait: queue this one behind them, then try to drain in order.
                whmcs_bridge_spool($id, $body);
                whmcs_bridge_flush($deadline);
                return;
            }
            if (whmcs_bridge_post($id, $body, $deadline - microtime(true)) === 'retry') {
                whmcs_bridge_spool($id, $body);
            }
        } catch (\Throwable $e) {
            whmcs_bridge_log('hook error: ' . $e->getMessage());
        }
    }
}

add_hook('EmailPreSend', 1, function ($vars) {
    try {
        if (is_array($vars)) {
            whmcs_bridge_email_template($vars);
        }
    } catch (\Throwable $e) {
        whmcs_bridge_log('hook error: ' . $e->getMessage());
    }
    // Returning nothing: a returned array would become merge fields, or abort the send.
});
foreach (array_keys(whmcs_bridge_allowed()) as $whmcs_bridge_hook) {
    add_hook($whmcs_bridge_hook, 1, function ($vars) use ($whmcs_bridge_hook) {
        whmcs_bridge_emit($whmcs_bridge_hook, $vars);
    });
}
unset($whmcs_bridge_hook);
