<?php
// Loads hooks/whmcs_bridge.php as WHMCS would (stub add_hook and logActivity), then fires the hooks
// given as JSON on stdin: [{"hook": "InvoicePaid", "vars": {...}}, ...]. Prints what was registered,
// and what each hook function returned (WHMCS reads a return: merge fields, abortsend...).
// WHMCS_BRIDGE_HOOK_FILE may name several files (PATH_SEPARATOR between): WHMCS includes every
// file of includes/hooks, so two copies of the hook are loaded one after the other.
define('WHMCS', true);
$CONFIG = array('SystemURL' => 'https://billing.example.com/');
$GLOBALS['CONFIG'] = $CONFIG;
$registered = array();
function add_hook($name, $priority, $fn)
{
    global $registered;
    $registered[$name][] = $fn;
}
function logActivity($message)
{
    fwrite(STDERR, "activity: $message\n");
}
foreach (explode(PATH_SEPARATOR, getenv('WHMCS_BRIDGE_HOOK_FILE')) as $file) {
    require $file;
}
$fired = json_decode(stream_get_contents(STDIN), true) ?: array();
$seconds = array();
$returned = array();
foreach ($fired as $event) {
    $started = microtime(true);
    foreach (isset($registered[$event['hook']]) ? $registered[$event['hook']] : array() as $fn) {
        $returned[] = $fn($event['vars']);
    }
    $seconds[] = round(microtime(true) - $started, 3);
}
echo json_encode(array('registered' => array_keys($registered), 'seconds' => $seconds, 'returned' => $returned,
    'functions' => count($registered, COUNT_RECURSIVE) - count($registered)));
