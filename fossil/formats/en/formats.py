# The console's date and time formats (FORMAT_MODULE_PATH in fossil/settings.py): every time the
# admin shows is in UTC (TIME_ZONE), and says so.
DATETIME_FORMAT = r"Y-m-d H:i:s \U\T\C"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
TIME_FORMAT = r"H:i:s \U\T\C"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
